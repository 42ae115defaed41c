// The fleet CSV import (`POST /v1/fleet/imports`): bytes of the upload through `CSVLineReader`, fed in two reads
// as the request body arrives, then the header and every row through `FleetImporter.Run`'s validation (the rows
// are not staged: that is the store's part).
//
// Input: byte 0 is where the body is cut in two reads (times 4); the rest is the CSV file.
import Foundation
import FuzzSupport
@testable import LPAAdmin
import LPAStore
import NIOCore

/// The store the rows would be staged in (never reached: rows are validated, not staged). Closed at exit so that
/// its worker thread is gone before the leak check.
private let store: any Store = {
    let store: any Store
    do { store = try SQLiteStore.inMemory() } catch { fatalError("in-memory store: \(error)") }
    atexit {
        let closed = DispatchSemaphore(value: 0)
        Task {
            try? await fuzzStore.close()
            closed.signal()
        }
        closed.wait()
    }
    return store
}()
private var fuzzStore: any Store { store }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSVImport(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let body = input[1...]
    let cut = min(body.count, Int(input[0]) * 4)

    var reader = CSVLineReader()
    var run = FleetImporter.Run(importID: "imp-fuzz", models: ["SIM-METER-1", "TRACKER-2"], store: store)
    var lines: [(number: Int, line: CSVLineReader.Line)] = []
    lines += reader.feed(ByteBuffer(bytes: body.prefix(cut)))
    lines += reader.feed(ByteBuffer(bytes: body.dropFirst(cut)))
    if let last = reader.finish() { lines.append(last) }

    var previous = 0
    for (number, line) in lines {
        precondition(number == previous + 1, "line numbers skip from \(previous) to \(number)")
        previous = number
        if let header = run.header {
            guard case .fields(let fields) = line, fields.count == run.width, !fields.allSatisfy(\.isEmpty) else { continue }
            let errorsBefore = run.errorCount
            let row = run.validate(number, fields, header)
            precondition((row == nil) == (run.errorCount > errorsBefore), "a row is neither accepted nor refused")
        } else {
            do { try run.readHeader(line) } catch { return 0 }
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// Fleet lists as operators upload them (the shapes the import tests use), valid and with refused rows.
private func seeds() throws -> [[UInt8]] {
    let files = [
        "eid,imei,iccid,model,tags,smdp_address,profile_type,matching_id\n"
            + "89049032123451234512345678901235,356938035643809,89882110000000000010,SIM-METER-1,north;batch-7,smdp.example:443,IoT-LTE-M,MATCH-1\n"
            + "89049032123451234512345678901243,,,TRACKER-2,,,,\n",
        "\u{FEFF}model,EID,tags\r\nSIM-METER-1,89049032123451234512345678901235,\"a;b\"\r\n\"TRACKER-2\",89049032123451234512345678901243,\"quoted \"\"x\"\"\"\r\n",
        "eid,model,smdp_address\n1234,UNKNOWN,bad host!\n89049032123451234512345678901235,SIM-METER-1\n\n",
    ]
    return files.enumerated().map { [UInt8($0.offset * 9)] + Array($0.element.utf8) }
}
