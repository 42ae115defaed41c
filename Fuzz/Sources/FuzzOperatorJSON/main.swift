// The ES9+ and ES2+ response parsers: an SM-DP+'s HTTP body through `RSPFunctionCaller.reply(to:allowsNoContent:)`
// (JSON object, `header.functionExecutionStatus`, `statusCodeData`) and then every function's response reader.
//
// Input: byte 0 selects the function (and whether a 204 is allowed); the rest is the response body. Every reader
// must return a value or throw an `OperatorError`.
import FuzzSupport
import Foundation
@testable import LPAHTTP
@testable import LPAOperator
import NIOHTTP1

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOperatorJSON(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let selector = input[0]
    let response = HTTPClientResponse(status: .ok, body: Array(input[1...]))
    let reply: RSPFunctionCaller.Reply
    do {
        reply = try RSPFunctionCaller.reply(to: response, allowsNoContent: selector & 0x80 != 0)
    } catch is OperatorError {
        return 0
    } catch {
        fatalError("RSPFunctionCaller.reply threw \(type(of: error)), not an OperatorError")
    }
    do {
        let object = try RSPFunctionCaller.object(of: reply, function: "fuzz")
        switch selector % 5 {
        case 0: _ = try InitiateAuthenticationResponse(object)
        case 1: _ = try AuthenticateClientResponse(object)
        case 2: _ = try GetBoundProfilePackageResponse(object)
        case 3: _ = try ConfirmOrderResponse(object)
        default: _ = try object.string("iccid")
        }
    } catch is OperatorError {
    } catch {
        fatalError("a response reader threw \(type(of: error)), not an OperatorError")
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// Responses as an SM-DP+ sends them (the simulator's shapes): each function's success body and a failure.
private func seeds() throws -> [[UInt8]] {
    func body(_ fields: [String: Any], status: String = "Executed-Success", codes: [String: String]? = nil) throws -> [UInt8] {
        var execution: [String: Any] = ["status": status]
        if let codes { execution["statusCodeData"] = codes }
        var object = fields
        object["header"] = ["functionExecutionStatus": execution]
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
    let b64 = { (bytes: [UInt8]) in Data(bytes).base64EncodedString() }
    let tid = "A1B2C3D4E5F60718"
    return [
        [0] + (try body(["transactionId": tid, "serverSigned1": b64([0x30, 0x03, 0x80, 0x01, 0x01]), "serverSignature1": b64([UInt8](repeating: 7, count: 67)),
                         "euiccCiPKIdToBeUsed": b64([0x04, 0x14] + [UInt8](repeating: 1, count: 20)), "serverCertificate": b64([0x30, 0x02, 0x05, 0x00])])),
        [1] + (try body(["transactionId": tid, "profileMetadata": b64([0xBF, 0x25, 0x00]), "smdpSigned2": b64([0x30, 0x00]),
                         "smdpSignature2": b64([UInt8](repeating: 4, count: 67)), "smdpCertificate": b64([0x30, 0x02, 0x05, 0x00])])),
        [2] + (try body(["transactionId": tid, "boundProfilePackage": b64([0xBF, 0x36, 0x00])], status: "Executed-WithWarning",
                        codes: ["subjectCode": "8.1", "reasonCode": "3.8", "message": "warning"])),
        [3] + (try body(["eid": "89049032123451234512345678901235", "matchingId": "MATCH-1", "smdpAddress": "smdp.example"])),
        [4] + (try body(["iccid": "8949000000000000012"])),
        [0x80] + (try body([:], status: "Failed", codes: ["subjectCode": "8.2.6", "reasonCode": "3.8", "subjectIdentifier": "x", "message": "refused"])),
        [0x81] + (try body([:], status: "Expired", codes: ["subjectCode": "8.8", "reasonCode": "4.10"])),
    ]
}
