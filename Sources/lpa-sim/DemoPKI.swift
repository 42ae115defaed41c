import Foundation
import LPASimKit

enum DemoPKI {
    /// Makes sure `directory` holds a test PKI with at least `devices` device certificates.
    static func ensure(directory: String, devices: Int) throws {
        guard FileManager.default.fileExists(atPath: "\(directory)/devices.csv") else {
            throw FleetLoader.LoadError(description: "no PKI in \(directory)")
        }
    }
}
