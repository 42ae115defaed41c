import Foundation
import NIOCore

/// A file read chunk by chunk as it is consumed, so a large upload never sits in memory whole.
public struct FileChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public let path: String
    public let chunkSize: Int

    /// Fails when the file cannot be opened.
    public init(path: String, chunkSize: Int = 64 * 1024) throws {
        guard FileManager.default.isReadableFile(atPath: path) else { throw AdminHTTPClientError(detail: "cannot read \(path)") }
        self.path = path
        self.chunkSize = chunkSize
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        let chunkSize: Int

        public mutating func next() async throws -> ByteBuffer? {
            guard let data = try handle?.read(upToCount: chunkSize), !data.isEmpty else { return nil }
            return ByteBuffer(bytes: data)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: FileHandle(forReadingAtPath: path), chunkSize: chunkSize)
    }
}
