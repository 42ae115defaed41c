/// Upper-case hexadecimal text of bytes, as SGP.22 prints AIDs and transaction IDs.
public enum Hex {
    private static let digits = Array("0123456789ABCDEF")

    public static func string(_ bytes: some Sequence<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    /// The bytes of hexadecimal text (either case); `nil` for odd length or a non-hex character.
    public static func bytes(_ text: String) -> [UInt8]? {
        let scalars = Array(text.utf8)
        guard scalars.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(scalars.count / 2)
        for index in stride(from: 0, to: scalars.count, by: 2) {
            guard let high = value(scalars[index]), let low = value(scalars[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }
}
