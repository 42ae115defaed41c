// The YAML loaders: `CoreConfiguration` and `EdgeConfiguration` (`ConfigurationFile.parse`, as `--config` reads
// them) and the device-model / configuration / count-setting library (`LibraryDocument.parse`). A document that
// loads must also render and load again to an equal value (unless secrets in it were redacted).
//
// Input: byte 0 selects the loader; the rest is the YAML text (as the loaders read it: UTF-8, invalid sequences
// replaced).
import Foundation
import FuzzSupport
import LPAConfig
import LPACore
import LPAEdge

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let text = String(decoding: input[1...], as: UTF8.self)
    switch input[0] % 3 {
    case 0: roundTrip(CoreConfiguration.self, text)
    case 1: roundTrip(EdgeConfiguration.self, text)
    default:
        if let library = try? LibraryDocument.parse(yaml: text) {
            _ = DeviceModelLibrary(library.deviceModels)
            _ = ConfigurationLibrary(library.configurationRules)
        }
    }
    return 0
}

private func roundTrip<Configuration: ConfigurationFile & Equatable>(_ type: Configuration.Type, _ text: String) {
    guard let configuration = try? Configuration.parse(yaml: text) else { return }
    for json in [false, true] {
        let rendered: String
        do {
            rendered = try configuration.rendered(json: json)
        } catch {
            fatalError("a loaded \(type) does not render: \(error)")
        }
        // Secrets render as <redacted> (`--print-config` must not show them), so such a rendering is for reading only.
        guard !rendered.contains("<redacted>") else { continue }
        do {
            let again = try Configuration.parse(yaml: rendered)
            precondition(again == configuration, "\(type) changes when rendered and loaded again")
        } catch {
            fatalError("a rendered \(type) does not load again: \(error)")
        }
    }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// The default configurations rendered as YAML and JSON, and the files the Docker deployment ships
/// (`docker/core.yaml`, `docker/edge.yaml`, `docker/libraries.yaml`).
private func seeds() throws -> [[UInt8]] {
    let docker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../docker")
    func file(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: docker.appendingPathComponent(name))) }
    return [
        [0] + Array(try CoreConfiguration().rendered(json: false).utf8),
        [1] + Array(try EdgeConfiguration().rendered(json: false).utf8),
        [0] + Array(try CoreConfiguration().rendered(json: true).utf8),
        [0] + (try file("core.yaml")),
        [1] + (try file("edge.yaml")),
        [2] + (try file("libraries.yaml")),
    ]
}
