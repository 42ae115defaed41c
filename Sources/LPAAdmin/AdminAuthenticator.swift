import Foundation
import HTTPTypes
import Hummingbird
import LPACore
import LPACrypto

/// Checks `Authorization: Bearer …` against the configured tokens.
///
/// Tokens are compared as SHA-256 digests over every configured token without early exit, so the
/// time taken says nothing about how much of a guess was right, nor which token it resembled.
/// Missing or unknown token: 401; known token whose role is too low: 403.
struct AdminAuthenticator: Sendable {
    struct Holder: Sendable {
        var name: String
        var role: AdminRole
    }

    private let digests: [(digest: [UInt8], holder: Holder)]

    init(tokens: [CoreConfiguration.Admin.Token]) {
        digests = tokens.map { (SHA256.hash(Array($0.token.utf8)), Holder(name: $0.name, role: $0.role)) }
    }

    func authenticate(_ request: Request) throws -> Holder {
        guard let header = request.headers[.authorization] else {
            throw AdminError.unauthenticated("send Authorization: Bearer TOKEN")
        }
        let prefix = "bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix else {
            throw AdminError.unauthenticated("the Authorization header must be Bearer TOKEN")
        }
        let presented = SHA256.hash(Array(header.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces).utf8))
        var found: Holder?
        for entry in digests {
            var difference: UInt8 = 0
            for i in 0..<SHA256.byteCount { difference |= entry.digest[i] ^ presented[i] }
            if difference == 0 { found = entry.holder }
        }
        guard let found else { throw AdminError.unauthenticated("unknown token") }
        return found
    }

    func require(_ role: AdminRole, _ request: Request) throws -> Holder {
        let holder = try authenticate(request)
        guard holder.role >= role else {
            throw AdminError.forbidden("token '\(holder.name)' has role \(holder.role.rawValue); this needs \(role.rawValue)")
        }
        return holder
    }
}
