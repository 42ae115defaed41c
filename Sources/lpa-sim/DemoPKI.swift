import Foundation
import LPASimKit

enum DemoPKI {
    /// Makes sure `directory` holds a test PKI with at least `devices` device certificates,
    /// creating (or re-creating a smaller) one when needed.
    static func ensure(directory: String, devices: Int, announce: Bool) throws {
        let url = URL(fileURLWithPath: directory)
        if let existing = try? TestPKI.load(from: url), existing.devices.count >= devices {
            return
        }
        if announce { print("creating a test PKI with \(devices) device certificates in \(directory)") }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try TestPKI.create(at: url, devices: devices, overwrite: true)
    }
}
