import COpenSSL

/// The OpenSSL library this process runs with, e.g. `OpenSSL 3.0.13 30 Jan 2024` — the one the
/// benchmark clients use, and (on one machine, from the same package) the servers.
public enum OpenSSLVersion {
    public static var text: String {
        OpenSSL_version(OPENSSL_VERSION).map { String(cString: $0) } ?? "unknown"
    }
}
