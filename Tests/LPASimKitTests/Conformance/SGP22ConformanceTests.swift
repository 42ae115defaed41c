import Foundation
import LPACrypto
import LPASimKit
import RSP
import XCTest

/// Differential tests of every SGP.22 object the project encodes or decodes against asn1tools, an independent
/// ASN.1 codec compiled from `proto/sgp22/*.asn` (the standard's module, `AUTOMATIC TAGS`).
///
/// For each value set: asn1tools decodes our DER to the independently built value, re-encodes it to the same
/// bytes, encodes the value to the same bytes, and our parser reads asn1tools' encoding back to our model.
/// Objects captured from sessions between the virtual eUICC and the SM-DP+ simulator (both curves) must decode,
/// re-encode identically and parse. Any disagreement fails; the counts are printed.
final class SGP22ConformanceTests: XCTestCase {
    static let pkis: [(String, RSPTestPKI)] = {
        var brainpool = RSPTestPKI.Parameters()
        brainpool.curve = .brainpoolP256r1
        return [("P-256", try! RSPTestPKI.create()), ("brainpoolP256r1", try! RSPTestPKI.create(brainpool))]
    }()

    func testEveryRSPObjectAgreesWithAsn1tools() async throws {
        let oracle = try ASN1Oracle.locate()
        var cases: [ConformanceCase] = []
        for (name, pki) in Self.pkis {
            cases += try ConformanceCases(pki: pki, label: name).all()
            cases += try await SimulatorCapture.cases(pki: pki, label: name)
        }
        let requests = cases.map { ASN1Oracle.Request(type: $0.type, der: $0.der, value: $0.value) }
        let (answers, compiledTypes) = try oracle.run(requests)
        XCTAssertGreaterThan(compiledTypes, 0)

        var disagreements: [String] = []
        for (item, answer) in zip(cases, answers) {
            let name = "\(item.type) [\(item.label)]"
            if let error = answer.error {
                disagreements.append("\(name): asn1tools: \(error)")
                continue
            }
            if answer.reencoded != item.der {
                disagreements.append("\(name): asn1tools re-encodes our \(ASN1Value.hexString(item.der)) as \(answer.reencoded.map(ASN1Value.hexString) ?? "-")")
            }
            var reference = item.der
            if let value = item.value {
                if let decoded = answer.decoded, ASN1Value.canonical(decoded) != ASN1Value.canonical(value) {
                    disagreements.append("\(name): asn1tools decodes our DER to \(ASN1Value.canonical(decoded)), expected \(ASN1Value.canonical(value))")
                }
                guard let encoded = answer.encoded else {
                    disagreements.append("\(name): asn1tools did not encode the value")
                    continue
                }
                if encoded != item.der {
                    disagreements.append("\(name): asn1tools encodes the value as \(ASN1Value.hexString(encoded)), we as \(ASN1Value.hexString(item.der))")
                }
                reference = encoded
            }
            if let parse = item.parse {
                do {
                    try parse(reference)
                } catch {
                    disagreements.append("\(name): our parser on asn1tools' encoding: \(error)")
                }
            }
        }
        let types = Set(cases.map(\.type)).count
        let independent = cases.filter { $0.value != nil }.count
        print("SGP.22 conformance: \(types) types, \(cases.count) values cross-checked with asn1tools (\(independent) built independently, \(cases.count - independent) captured from the virtual eUICC and the SM-DP+ simulator), \(disagreements.count) disagreements")
        for line in disagreements { XCTFail(line) }
    }
}
