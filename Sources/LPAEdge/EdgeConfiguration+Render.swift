import Foundation
import Yams

extension EdgeConfiguration {
    /// The configuration as YAML (the file format) or JSON.
    public func rendered(json: Bool) throws -> String {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
        return try YAMLEncoder().encode(self)
    }
}
