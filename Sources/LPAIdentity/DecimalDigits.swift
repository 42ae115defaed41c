/// Digit-string checks and arithmetic shared by the identifier types.
enum DecimalDigits {
    /// The digit values of `text`, or the first problem: wrong length or a non-digit character.
    static func parse(_ text: String, field: IdentityField, lengths: ClosedRange<Int>) -> Result<[UInt8], IdentityError> {
        let characters = Array(text)
        guard lengths.contains(characters.count) else {
            return .failure(.wrongLength(field, expected: lengths, actual: characters.count))
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(characters.count)
        for (offset, character) in characters.enumerated() {
            guard let ascii = character.asciiValue, (0x30...0x39).contains(ascii) else {
                return .failure(.nonDigit(field, position: offset + 1, character: character))
            }
            digits.append(ascii - 0x30)
        }
        return .success(digits)
    }

    /// The digits of a generator prefix, or `invalidPrefix` naming the first non-digit.
    static func parsePrefix(_ prefix: String, field: IdentityField, maximumLength: Int) -> Result<[UInt8], IdentityError> {
        guard prefix.count <= maximumLength else {
            return .failure(.invalidPrefix(field, prefix: prefix, reason: "longer than \(maximumLength) digits"))
        }
        switch parse(prefix, field: field, lengths: 0...maximumLength) {
        case .success(let digits):
            return .success(digits)
        case .failure(.nonDigit(_, let position, _)):
            return .failure(.invalidPrefix(field, prefix: prefix, reason: "position \(position) is not a digit"))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// `index` as exactly `width` decimal digits (zero-padded), or `indexOutOfRange`.
    static func padded(_ index: UInt64, width: Int, field: IdentityField) -> Result<[UInt8], IdentityError> {
        var maximum: UInt64 = 0
        for _ in 0..<min(width, 19) { maximum = maximum * 10 + 9 }
        if width >= 20 { maximum = .max }
        guard index <= maximum else {
            return .failure(.indexOutOfRange(field, index: index, maximum: maximum))
        }
        var digits = [UInt8](repeating: 0, count: width)
        var rest = index
        var position = width - 1
        while rest > 0, position >= 0 {
            digits[position] = UInt8(rest % 10)
            rest /= 10
            position -= 1
        }
        return .success(digits)
    }

    /// The Luhn (ISO/IEC 7812-1) check digit for `payload`, which excludes the check digit itself.
    static func luhnCheckDigit(for payload: [UInt8]) -> UInt8 {
        var sum = 0
        for (offset, digit) in payload.reversed().enumerated() {
            var value = Int(digit)
            if offset % 2 == 0 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return UInt8((10 - sum % 10) % 10)
    }

    /// The digits as text.
    static func string(_ digits: [UInt8]) -> String {
        String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self)
    }
}
