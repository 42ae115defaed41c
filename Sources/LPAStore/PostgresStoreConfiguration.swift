import Foundation
import PostgresNIO

extension PostgresStore {
    /// Where and how to connect. Parse one from a URL with ``init(url:)``:
    ///
    ///     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=disable&…]
    ///
    /// Query parameters: `schema` (tables live in this schema, created by ``PostgresStore/migrate()``
    /// when missing; default: the server's `search_path`), `sslmode` (`disable`, `allow` or `prefer`;
    /// TLS is not available in this build), `host` (a directory holding the server's Unix socket, as
    /// libpq accepts it), `application_name`, `max_connections` (pool size, default 20). Unknown
    /// parameters are rejected so a typo does not go unnoticed.
    public struct Configuration: Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int
        /// Directory of the server's Unix socket; when set, used instead of `host`.
        public var unixSocketDirectory: String?
        public var username: String
        public var password: String?
        public var database: String?
        /// Schema holding the store's tables (sets `search_path` on every connection).
        public var schema: String?
        public var applicationName: String
        public var maximumConnections: Int

        public init(host: String = "127.0.0.1", port: Int = 5432, unixSocketDirectory: String? = nil, username: String,
                    password: String? = nil, database: String? = nil, schema: String? = nil,
                    applicationName: String = "lpa-core", maximumConnections: Int = 20) {
            self.host = host
            self.port = port
            self.unixSocketDirectory = unixSocketDirectory
            self.username = username
            self.password = password
            self.database = database
            self.schema = schema
            self.applicationName = applicationName
            self.maximumConnections = maximumConnections
        }

        /// Parses a `postgres://` or `postgresql://` URL; throws ``StoreError/Kind/invalidInput``
        /// saying what is wrong (never repeating the password).
        public init(url: String) throws {
            func invalid(_ detail: String) -> StoreError {
                StoreError(.invalidInput, operation: "open", detail: "PostgreSQL URL \(Self.redacted(url)): \(detail)")
            }
            guard let components = URLComponents(string: url) else { throw invalid("not a URL") }
            guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
                throw invalid("scheme must be postgres:// or postgresql://")
            }
            guard let user = components.percentEncodedUser.map(Self.decoded), !user.isEmpty else {
                throw invalid("a user name is required (postgres://USER@HOST/DB)")
            }
            self.init(username: user)
            password = components.percentEncodedPassword.map(Self.decoded)
            if let host = components.percentEncodedHost.map(Self.decoded), !host.isEmpty {
                self.host = host
            }
            if let port = components.port {
                guard (1...65_535).contains(port) else { throw invalid("port \(port) is out of range") }
                self.port = port
            }
            let path = Self.decoded(components.percentEncodedPath)
            let name = path.hasPrefix("/") ? String(path.dropFirst()) : path
            database = name.isEmpty ? nil : name
            for item in components.queryItems ?? [] {
                let value = item.value ?? ""
                switch item.name {
                case "schema":
                    guard Self.isPlainIdentifier(value) else {
                        throw invalid("schema '\(value)' must be letters, digits and '_' (not starting with a digit), at most 63 characters")
                    }
                    schema = value
                case "sslmode":
                    guard ["disable", "allow", "prefer"].contains(value) else {
                        throw invalid("sslmode=\(value) is not supported: this build connects without TLS (use sslmode=disable, a Unix socket or a local TLS proxy)")
                    }
                case "host":
                    guard value.hasPrefix("/") else { throw invalid("host parameter must be a socket directory starting with '/'") }
                    unixSocketDirectory = value
                case "application_name":
                    applicationName = value
                case "max_connections":
                    guard let count = Int(value), count > 0 else { throw invalid("max_connections must be a positive number") }
                    maximumConnections = count
                default:
                    throw invalid("unknown parameter '\(item.name)' (known: schema, sslmode, host, application_name, max_connections)")
                }
            }
        }

        /// The URL form without the password.
        public var description: String {
            var text = "postgres://\(username)@\(unixSocketDirectory.map { "[\($0)]" } ?? host):\(port)/\(database ?? username)"
            if let schema { text += "?schema=\(schema)" }
            return text
        }

        private static func decoded(_ text: String) -> String {
            text.removingPercentEncoding ?? text
        }

        /// True for names that need no quoting in SQL.
        static func isPlainIdentifier(_ name: String) -> Bool {
            guard let first = name.unicodeScalars.first, name.utf8.count <= 63 else { return false }
            let letters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
            let rest = letters.union(CharacterSet(charactersIn: "0123456789"))
            return letters.contains(first) && name.unicodeScalars.allSatisfy { rest.contains($0) }
        }

        /// `url` with any password replaced by `***`, for error messages.
        static func redacted(_ url: String) -> String {
            guard var components = URLComponents(string: url), components.password != nil else { return url }
            components.password = "***"
            return components.string ?? "(URL)"
        }

        var clientConfiguration: PostgresClient.Configuration {
            var configuration: PostgresClient.Configuration
            if let directory = unixSocketDirectory {
                configuration = PostgresClient.Configuration(
                    unixSocketPath: "\(directory)/.s.PGSQL.\(port)", username: username, password: password, database: database)
            } else {
                configuration = PostgresClient.Configuration(
                    host: host, port: port, username: username, password: password, database: database, tls: .disable)
            }
            configuration.options.maximumConnections = maximumConnections
            configuration.options.additionalStartupParameters = [("application_name", applicationName)]
            if let schema {
                configuration.options.additionalStartupParameters.append(("search_path", schema))
            }
            return configuration
        }
    }
}
