// Differential check of the compact TLS 1.3 record layer against OpenSSL's own record layer.
//
// Inputs run on a connection between an OpenSSL client (`SSL` on memory BIOs, OpenSSL's record layer throughout)
// and our server `TLSConnection` with `compactSessions` on, which hands the connection to `TLS13RecordLayer` once
// the handshake is over — as lpa-edge runs it. The input then scripts both sides; every step must agree:
// - what the OpenSSL client seals (any length, block padding, KeyUpdate with or without update_requested,
//   close_notify), our side opens to exactly the same bytes, in chunks of any size;
// - what our side seals (any length; the KeyUpdate it answers with), OpenSSL opens to exactly the same bytes.
//
// Input: byte 0 selects the cipher suite; then up to 16 operations, each an opcode byte and its arguments (opcode
// mod 6 — 0, 1: the client sends data; 2: our side sends data; 3, 4: the client's KeyUpdate, 4 requesting ours;
// 5: one side closes). Plaintexts come from a seed byte, so lengths up to three records cost only a few bytes.
// A connection serves up to 256 inputs (a handshake costs far more than the records), so an input found failing
// is replayed on a fresh connection, where only the sequence numbers and keys differ.
import FuzzSupport
import COpenSSL
import Foundation
@testable import LPATLS
import LPACrypto
import NIOCore

private struct Fixture {
    let servers: [TLSContext]
    let client: OpaquePointer

    init() {
        do {
            let key = try PrivateKey.generate(curve: .p256)
            let certificate = try CertificateBuilder(
                subject: DistinguishedName([.init(.commonName, "fuzz.serverlpa.invalid")]), subjectPublicKey: key.publicKey
            ).build(issuer: .selfSigned(key))
            servers = try TLS13RecordLayer.Suite.all.map { suite in
                var configuration = TLSConfiguration.server(
                    certificateChain: .pem(certificate.pem), privateKey: .pem(try key.pemPKCS8), trustRoots: nil,
                    peerVerification: .none)
                configuration.minimumVersion = .tls13
                configuration.cipherSuites = suite.name
                configuration.compactSessions = true
                return try TLSContext(configuration: configuration)
            }
        } catch {
            fatalError("fixture: \(error)")
        }
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { fatalError("SSL_CTX_new") }
        _ = lpa_SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        client = ctx
    }
}

private nonisolated(unsafe) let fixture = Fixture()

/// Pseudo-random bytes (xorshift) made once; a plaintext is a slice of them chosen by a seed byte, so that the
/// per-input cost is a copy, not a generator loop.
private let pattern: [UInt8] = {
    var state: UInt32 = 0x9E37_79B9
    return (0..<(maximumLength + 256 * 251)).map { _ in
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        return UInt8(truncatingIfNeeded: state)
    }
}()

private func plaintext(_ count: Int, seed: UInt8) -> [UInt8] {
    let start = Int(seed) * 251
    return Array(pattern[start..<(start + count)])
}

/// Byte-wise equality through memcmp (a debug build's element loop would dominate the run).
private func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in a.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
}

private func bioBytes(_ bio: OpaquePointer) -> [UInt8] {
    let pending = Int(lpa_BIO_pending(bio))
    guard pending > 0 else { return [] }
    var bytes = [UInt8](repeating: 0, count: pending)
    let n = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(pending)) }
    return Array(bytes.prefix(max(0, Int(n))))
}

private func bioWrite(_ bio: OpaquePointer, _ bytes: [UInt8]) {
    guard !bytes.isEmpty else { return }
    let n = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
    precondition(Int(n) == bytes.count, "BIO_write")
}

/// One connection between an OpenSSL client and our server.
private final class Pair {
    let ssl: OpaquePointer
    let clientIn: OpaquePointer
    let clientOut: OpaquePointer
    let server: TLSConnection
    /// Ciphertext from the client not yet given to the server.
    var toServer: [UInt8] = []
    /// Records without application data in a row, as each side counts them (both refuse long runs).
    var controlRun = 0

    init?(suite: Int) {
        guard let ssl = SSL_new(fixture.client), let r = BIO_new(BIO_s_mem()), let w = BIO_new(BIO_s_mem()) else {
            fatalError("SSL_new")
        }
        _ = lpa_BIO_set_mem_eof_return(r, -1)
        _ = lpa_BIO_set_mem_eof_return(w, -1)
        SSL_set_bio(ssl, r, w)
        SSL_set_connect_state(ssl)
        self.ssl = ssl
        clientIn = r
        clientOut = w
        do {
            server = try TLSConnection(context: fixture.servers[suite], serverHostname: nil)
        } catch {
            fatalError("server connection: \(error)")
        }
        var serverDone = false, clientDone = false
        for _ in 0..<8 where !(serverDone && clientDone) {
            if !clientDone {
                let rc = SSL_do_handshake(ssl)
                if rc == 1 { clientDone = true } else {
                    let e = SSL_get_error(ssl, rc)
                    precondition(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE, "client handshake failed: \(e)")
                }
            }
            let flight = bioBytes(clientOut)
            if !flight.isEmpty {
                do { try server.feed(ByteBuffer(bytes: flight)) } catch { fatalError("server feed (handshake): \(error)") }
            }
            if !serverDone {
                switch server.doHandshake() {
                case .complete:
                    serverDone = true
                    // As TLSHandler does: the last flight goes out, then the hand-over.
                    if let out = server.drainCiphertext(allocator: ByteBufferAllocator()) { bioWrite(clientIn, Array(out.readableBytesView)) }
                    do { try server.finishHandshake() } catch { fatalError("server hand-over: \(error)") }
                case .wantMore:
                    break
                case .failed(let error):
                    fatalError("server handshake failed: \(error)")
                }
            }
            if let out = server.drainCiphertext(allocator: ByteBufferAllocator()) { bioWrite(clientIn, Array(out.readableBytesView)) }
        }
        precondition(serverDone && clientDone, "handshake did not complete")
        precondition(server.usesCompactRecordLayer, "the server did not hand over to TLS13RecordLayer")
    }

    deinit { SSL_free(ssl) }

    /// Gives the server the client's ciphertext in chunks of `chunk` bytes, reading after each; returns the
    /// plaintext and the last result other than `.wantMore`.
    func serverReceives(chunk: Int) -> ([UInt8], TLSConnection.ReadResult?) {
        toServer += bioBytes(clientOut)
        var plaintext = ByteBuffer()
        var last: TLSConnection.ReadResult?
        var offset = 0
        while offset < toServer.count {
            let end = offset + min(toServer.count - offset, chunk)
            // Buffering what OpenSSL sealed must not fail: a failure is a finding, like a failed read.
            do { try server.feed(ByteBuffer(bytes: toServer[offset..<end])) } catch { fatalError("server feed: \(error)") }
            offset = end
            let result = server.readPlaintext(into: &plaintext)
            // Whatever the server seals in answer (a KeyUpdate) goes to the client.
            if let out = server.drainCiphertext(allocator: ByteBufferAllocator()) { bioWrite(clientIn, Array(out.readableBytesView)) }
            switch result {
            case .wantMore, .data: if case .data = result { last = result }
            case .closeNotify, .failed:
                toServer = []
                return (Array(plaintext.readableBytesView), result)
            }
        }
        toServer = []
        return (Array(plaintext.readableBytesView), last)
    }

    /// Reads everything OpenSSL can open; nil with the error when SSL_read fails.
    func clientReceives(expecting count: Int) -> (bytes: [UInt8], error: String?, closed: Bool) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if n > 0 {
                out += buffer.prefix(Int(n))
                continue
            }
            let e = SSL_get_error(ssl, n)
            if e == SSL_ERROR_WANT_READ { return (out, nil, false) }
            if e == SSL_ERROR_ZERO_RETURN { return (out, nil, true) }
            var reasons: [String] = []
            while case let code = ERR_get_error(), code != 0 {
                var text = [CChar](repeating: 0, count: 256)
                ERR_error_string_n(code, &text, text.count)
                reasons.append(String(cString: text))
            }
            return (out, "SSL_get_error \(e): \(reasons.joined(separator: "; "))", false)
        }
    }
}

/// The open connection of each suite and how many inputs it served.
private nonisolated(unsafe) var connections: [Int: (pair: Pair, inputs: Int)] = [:]

/// Plaintexts span up to three full records.
private let maximumLength = 3 * 16384 + 512

/// How many ciphertext bytes reach our side per read: 0 means all at once, otherwise 1 to 255 times 61 bytes (a
/// prime, so that cuts fall everywhere in a record).
private func chunkSize(_ byte: UInt8) -> Int { byte == 0 ? Int.max : Int(byte) * 61 }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLSDifferential(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    var input = UnsafeRawBufferPointer(start: start, count: count)[...]
    let suite = Int(input.popFirst()!) % TLS13RecordLayer.Suite.all.count
    // A handshake costs far more than the records: a connection serves up to 256 inputs, then a new one is made.
    let pair: Pair
    if let cached = connections[suite], cached.inputs < 256 {
        pair = cached.pair
        connections[suite]!.inputs += 1
    } else {
        guard let fresh = Pair(suite: suite) else { return 0 }
        pair = fresh
        connections[suite] = (fresh, 1)
    }
    var operations = 0

    func next() -> UInt8 { input.popFirst() ?? 0 }
    while let opcode = input.popFirst(), operations < 16 {
        operations += 1
        switch opcode % 6 {
        case 0, 1:
            // The client sends `length` bytes with block padding `padding` (0: none), read by the server in chunks.
            let length = (Int(next()) << 8 | Int(next())) % maximumLength
            let padding = Int(next())
            let seed = next()
            let chunk = chunkSize(next())
            guard length > 0 else { continue }
            let data = plaintext(length, seed: seed)
            _ = SSL_set_block_padding(pair.ssl, padding)
            let written = data.withUnsafeBytes { SSL_write(pair.ssl, $0.baseAddress, Int32($0.count)) }
            precondition(Int(written) == length, "SSL_write failed")
            let (received, result) = pair.serverReceives(chunk: chunk)
            if case .failed(let error) = result {
                fatalError("OpenSSL sealed \(length) bytes (padding \(padding)); our record layer refused them: \(error)")
            }
            precondition(same(received, data), "our record layer opened \(received.count) bytes, OpenSSL sealed \(length) different ones")
            pair.controlRun = 0
        case 2:
            // Our server sends `length` bytes; OpenSSL must open them.
            let length = (Int(next()) << 8 | Int(next())) % maximumLength
            let seed = next()
            guard length > 0 else { continue }
            let data = plaintext(length, seed: seed)
            if let error = pair.server.writePlaintext(ByteBuffer(bytes: data)) {
                fatalError("our record layer could not seal \(length) bytes: \(error)")
            }
            if let out = pair.server.drainCiphertext(allocator: ByteBufferAllocator()) { bioWrite(pair.clientIn, Array(out.readableBytesView)) }
            let (received, error, closed) = pair.clientReceives(expecting: length)
            if let error { fatalError("OpenSSL refused records our layer sealed (\(length) bytes): \(error)") }
            precondition(!closed && same(received, data), "OpenSSL opened \(received.count) bytes, our layer sealed \(length) different ones")
        case 3, 4:
            // The client renews its key, asking the server to renew its own when opcode is 4.
            guard pair.controlRun < 16 else { continue }
            pair.controlRun += 1
            let requested = opcode % 6 == 4
            precondition(SSL_key_update(pair.ssl, requested ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) == 1, "SSL_key_update")
            _ = SSL_do_handshake(pair.ssl)  // sends the KeyUpdate
            let (received, result) = pair.serverReceives(chunk: chunkSize(next()))
            if case .failed(let error) = result { fatalError("our record layer refused OpenSSL's KeyUpdate: \(error)") }
            precondition(received.isEmpty, "a KeyUpdate produced application data")
            // The server's answering KeyUpdate (when requested) must be accepted by OpenSSL.
            let (bytes, error, closed) = pair.clientReceives(expecting: 0)
            if let error { fatalError("OpenSSL refused our KeyUpdate answer: \(error)") }
            precondition(bytes.isEmpty && !closed, "the KeyUpdate answer carried data")
        default:
            // One side closes; the other must see close_notify. The connection is then done with.
            connections[suite] = nil
            if next() & 1 == 0 {
                _ = SSL_shutdown(pair.ssl)
                let (received, result) = pair.serverReceives(chunk: 4096)
                precondition(received.isEmpty && result == .closeNotify, "close_notify from OpenSSL read as \(String(describing: result))")
            } else {
                pair.server.shutdown()
                if let out = pair.server.drainCiphertext(allocator: ByteBufferAllocator()) { bioWrite(pair.clientIn, Array(out.readableBytesView)) }
                let (bytes, error, closed) = pair.clientReceives(expecting: 0)
                precondition(bytes.isEmpty && error == nil && closed, "OpenSSL did not read our close_notify: \(error ?? "no close")")
            }
            return 0
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// Scripts of every operation on each suite: data both ways with padding, both kinds of KeyUpdate, both closes.
private func seeds() throws -> [[UInt8]] {
    (0..<UInt8(TLS13RecordLayer.Suite.all.count)).flatMap { suite -> [[UInt8]] in [
        [suite, 0, 0x00, 0x10, 0, 1, 3, 2, 0x01, 0x00, 2, 5],
        [suite, 1, 0x40, 0x01, 16, 9, 1, 3, 2, 4, 7, 0, 0x00, 0x21, 0, 4, 2, 2, 0x00, 0x30, 6, 5, 0],
        [suite, 4, 0, 2, 0x00, 0x05, 1, 0, 0x50, 0x00, 255, 8, 200, 5, 1],
    ] }
}
