import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bump allocator for the C structures of one encode or decode call.
///
/// The first kilobyte lives on the stack (``withArena(_:)``); larger needs spill into malloc'd
/// chunks, all released when the call returns. Nothing allocated here outlives the call, so a
/// heartbeat encodes and decodes without touching the heap.
///
/// Every allocation is preceded by a 16-byte header holding its requested size
/// (``allocationSize(of:)``); the decoder uses it to see the true length of a string protobuf-c
/// copied, which a C string with an embedded NUL would otherwise hide. Freeing the most recent
/// allocation gives its memory back; other frees are no-ops.
///
/// Not thread-safe; lives on one stack frame.
struct ScratchArena {
    private static let headerSize = 16
    private static let stackCapacity = 1024
    private static let firstChunkCapacity = 4096
    private static let largestChunkCapacity = 1 << 20
    /// Far above anything protobuf-c asks for while decoding a frame of at most 2 MiB.
    private static let largestAllocation = 1 << 30

    private var cursor: UnsafeMutableRawPointer
    private var end: UnsafeMutableRawPointer
    /// The malloc'd chunks, newest first; each begins with the address of the next.
    private var chunks: UnsafeMutableRawPointer?
    private var nextChunkCapacity = firstChunkCapacity

    private init(_ initial: UnsafeMutableRawBufferPointer) {
        cursor = initial.baseAddress!
        end = initial.baseAddress! + initial.count
    }

    /// Runs `body` with a fresh arena and releases everything it allocated afterwards.
    static func withArena<Value, Failure: Error>(
        _ body: (UnsafeMutablePointer<ScratchArena>) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        try withUnsafeTemporaryAllocation(byteCount: stackCapacity, alignment: headerSize) { (stack) throws(Failure) -> Value in
            var arena = ScratchArena(stack)
            defer { arena.releaseChunks() }
            return try withUnsafeMutablePointer(to: &arena) { (pointer) throws(Failure) -> Value in
                try body(pointer)
            }
        }
    }

    /// A protobuf-c allocator that allocates from the arena at `arena`.
    static func protobufAllocator(_ arena: UnsafeMutablePointer<ScratchArena>) -> ProtobufCAllocator {
        ProtobufCAllocator(
            alloc: { data, size in
                data!.assumingMemoryBound(to: ScratchArena.self).pointee.allocate(byteCount: size)
            },
            free: { data, pointer in
                guard let pointer else { return }
                data!.assumingMemoryBound(to: ScratchArena.self).pointee.free(pointer)
            },
            allocator_data: UnsafeMutableRawPointer(arena)
        )
    }

    /// The size requested for `pointer`, which must have come from ``allocate(byteCount:)``.
    static func allocationSize(of pointer: UnsafeRawPointer) -> Int {
        (pointer - headerSize).load(as: Int.self)
    }

    /// 16-byte aligned, uninitialised memory; nil if `byteCount` is absurd or malloc fails.
    mutating func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard byteCount >= 0, byteCount <= Self.largestAllocation else { return nil }
        let needed = Self.headerSize + Self.roundedUp(byteCount)
        if end - cursor < needed {
            guard addChunk(minimumCapacity: needed) else { return nil }
        }
        cursor.storeBytes(of: byteCount, as: Int.self)
        let payload = cursor + Self.headerSize
        cursor += needed
        return payload
    }

    /// Uninitialised memory bound to `count` values of `type`.
    mutating func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        precondition(MemoryLayout<T>.alignment <= Self.headerSize)
        guard let raw = allocate(byteCount: MemoryLayout<T>.stride * count) else {
            fatalError("out of memory allocating \(count) × \(T.self)")
        }
        return raw.bindMemory(to: type, capacity: count)
    }

    /// Gives `pointer`'s memory back if it is the most recent allocation.
    mutating func free(_ pointer: UnsafeMutableRawPointer) {
        if pointer + Self.roundedUp(Self.allocationSize(of: pointer)) == cursor {
            cursor = pointer - Self.headerSize
        }
    }

    private static func roundedUp(_ byteCount: Int) -> Int {
        (byteCount + headerSize - 1) & ~(headerSize - 1)
    }

    private mutating func addChunk(minimumCapacity: Int) -> Bool {
        let capacity = max(nextChunkCapacity, minimumCapacity + Self.headerSize)
        guard let chunk = malloc(capacity) else { return false }
        chunk.storeBytes(of: chunks, as: UnsafeMutableRawPointer?.self)
        chunks = chunk
        cursor = chunk + Self.headerSize
        end = chunk + capacity
        nextChunkCapacity = min(nextChunkCapacity * 2, Self.largestChunkCapacity)
        return true
    }

    private mutating func releaseChunks() {
        while let chunk = chunks {
            chunks = chunk.load(as: UnsafeMutableRawPointer?.self)
            releaseSystemMemory(chunk)
        }
    }
}

/// `free(3)`, out of reach of ``ScratchArena/free(_:)``'s name inside the struct.
private func releaseSystemMemory(_ pointer: UnsafeMutableRawPointer) {
    free(pointer)
}
