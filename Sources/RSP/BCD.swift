/// The digit encodings SGP.22 uses for identifiers.
public enum BCD {
    /// ICCID and IMEI (`Iccid ::= [APPLICATION 26] OCTET STRING (SIZE(10))`): digits with swapped nibbles,
    /// padded with `F` (ETSI TS 102 221 / 3GPP TS 23.003). `"8944..."` → `98 44 …`.
    public static func swapped(_ digits: String, byteCount: Int) -> [UInt8]? {
        let values = digits.utf8.map { $0 &- 0x30 }
        guard values.allSatisfy({ $0 <= 9 }), values.count <= byteCount * 2 else { return nil }
        var out = [UInt8](repeating: 0xFF, count: byteCount)
        for (index, digit) in values.enumerated() {
            if index % 2 == 0 {
                out[index / 2] = 0xF0 | digit
            } else {
                out[index / 2] = (out[index / 2] & 0x0F) | (digit << 4)
            }
        }
        return out
    }

    /// The digits of a swapped-nibble value, stopping at the first `F` filler; `nil` on a non-digit nibble.
    public static func swappedDigits(_ bytes: some Collection<UInt8>) -> String? {
        var text = ""
        for byte in bytes {
            for nibble in [byte & 0x0F, byte >> 4] {
                if nibble == 0x0F { return text }
                guard nibble <= 9 else { return nil }
                text.append(Character(Unicode.Scalar(0x30 + nibble)))
            }
        }
        return text
    }

    /// Plain packed BCD (EID, TAC): two digits per byte, high nibble first; the digit count must be even.
    public static func packed(_ digits: String) -> [UInt8]? {
        let values = digits.utf8.map { $0 &- 0x30 }
        guard values.allSatisfy({ $0 <= 9 }), values.count % 2 == 0 else { return nil }
        return stride(from: 0, to: values.count, by: 2).map { values[$0] << 4 | values[$0 + 1] }
    }

    /// Digits in E.118 order (high nibble first), padded with `F` to `byteCount` bytes: the SAIP ProfileHeader
    /// `iccid`. `"8944..."` → `89 44 …`; an odd 19-digit ICCID ends in `…dF`.
    public static func packed(_ digits: String, byteCount: Int) -> [UInt8]? {
        let values = digits.utf8.map { $0 &- 0x30 }
        guard values.allSatisfy({ $0 <= 9 }), values.count <= byteCount * 2 else { return nil }
        let nibbles = values + [UInt8](repeating: 0x0F, count: byteCount * 2 - values.count)
        return stride(from: 0, to: nibbles.count, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }
    }

    /// The digits of a packed value written in E.118 order, stopping at the first `F` filler; `nil` on another
    /// non-digit nibble or on a digit after the filler.
    public static func packedDigitsPadded(_ bytes: some Collection<UInt8>) -> String? {
        var text = ""
        var ended = false
        for byte in bytes {
            for nibble in [byte >> 4, byte & 0x0F] {
                if nibble == 0x0F { ended = true; continue }
                guard nibble <= 9, !ended else { return nil }
                text.append(Character(Unicode.Scalar(0x30 + nibble)))
            }
        }
        return text
    }

    /// The digits of a packed BCD value; `nil` on a non-digit nibble.
    public static func packedDigits(_ bytes: some Collection<UInt8>) -> String? {
        var text = ""
        for byte in bytes {
            for nibble in [byte >> 4, byte & 0x0F] {
                guard nibble <= 9 else { return nil }
                text.append(Character(Unicode.Scalar(0x30 + nibble)))
            }
        }
        return text
    }
}
