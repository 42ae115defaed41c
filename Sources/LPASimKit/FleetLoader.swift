import Foundation
import LPATLS
import TerminalProtocol

/// Builds simulated devices from a PKI folder made by `lpa-sim pki init`: one device per row of
/// `devices.csv`, each presenting its own certificate.
public enum FleetLoader {
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) {
            self.description = description
        }
    }

    /// Reads up to `limit` devices from `directory/devices.csv`.
    public static func devices(inPKI directory: String, limit: Int? = nil, firmware: String = "sim-1.0") throws -> [SimulatedDevice] {
        let csvPath = "\(directory)/devices.csv"
        guard let text = try? String(contentsOfFile: csvPath, encoding: .utf8) else {
            throw LoadError(description: "\(csvPath): cannot read (run `lpa-sim pki init --dir \(directory)` first)")
        }
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let header = lines.first?.split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) else {
            throw LoadError(description: "\(csvPath): empty file")
        }
        lines.removeFirst()
        func column(_ name: String) throws -> Int {
            guard let i = header.firstIndex(of: name) else {
                throw LoadError(description: "\(csvPath): header lacks column '\(name)'")
            }
            return i
        }
        let (eid, imei, iccid, model, cert, key) = (
            try column("eid"), try column("imei"), try column("iccid"), try column("model"), try column("cert"), try column("key"))
        var devices: [SimulatedDevice] = []
        for (number, line) in lines.enumerated() {
            if let limit, devices.count >= limit { break }
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard f.count == header.count else {
                throw LoadError(description: "\(csvPath):\(number + 2): expected \(header.count) fields, found \(f.count)")
            }
            func path(_ p: String) -> String { p.hasPrefix("/") ? p : "\(directory)/\(p)" }
            let credentials: TLSCredentials
            do {
                credentials = try TLSCredentials(certificateChain: .file(path(f[cert])), privateKey: .file(path(f[key])))
            } catch {
                throw LoadError(description: "\(csvPath):\(number + 2): device \(f[eid]): \(error)")
            }
            let identity = Identity(eid: f[eid], imei: f[imei], iccid: f[iccid], model: f[model], firmware: firmware, extra: [])
            devices.append(SimulatedDevice(identity: identity, credentials: credentials))
        }
        return devices
    }
}
