import Foundation
import LPACrypto
import LPAIdentity
import LPATLS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A throw-away PKI for running ServerLPA on one machine: a fleet CA for the terminal side, an
/// infrastructure CA of its own for the edge–core link, and one client certificate per simulated device.
///
/// `create(at:devices:…)` writes this directory (keys are unencrypted PKCS#8 PEM with mode 0600):
///
/// | file | what |
/// |---|---|
/// | `fleet-ca.pem`, `fleet-ca.key` | self-signed CA of the terminal side: issues the device certificates, `edge.pem` and `admin.pem` |
/// | `edge.pem`, `edge.key` | lpa-edge TLS server towards terminals: serverAuth, SAN `localhost`, `127.0.0.1`, `::1` |
/// | `admin.pem`, `admin.key` | lpa-core's admin API and console (HTTPS): serverAuth, the loopback SANs plus `adminNames` |
/// | `devices/<EID>.pem`, `devices/<EID>.key` | one per device: clientAuth, subject CN = EID, serialNumber = IMEI, O = `ServerLPA Test Fleet` |
/// | `devices.csv` | `eid,imei,iccid,model,cert,key`, paths relative to the directory |
/// | `infra-ca.pem`, `infra-ca.key` | self-signed infrastructure CA: issues only the two certificates below |
/// | `core.pem`, `core.key` | lpa-core towards edges: serverAuth, SAN `localhost`, `127.0.0.1`, `::1` and the role URI ``InfrastructureRole/core`` |
/// | `edge-client.pem`, `edge-client.key` | lpa-edge's client certificate towards lpa-core: clientAuth, CN `lpa-edge`, role URI ``InfrastructureRole/edge`` |
///
/// A device certificate never chains to the infrastructure CA, so lpa-core's edge port and lpa-edge's
/// link to the core refuse it in the TLS handshake; the role URIs keep an edge certificate and a core
/// certificate from standing in for each other.
///
/// Device identities come from `FleetIdentity.make(index:…)`, so device `n` is the same in every PKI made with
/// the same numbering. Certificates are signed with ECDSA-with-SHA256 on the chosen curve.
public struct TestPKI: Sendable {
    /// Where each file of a test PKI lives.
    public struct Layout: Sendable, Hashable {
        /// The PKI directory.
        public let directory: URL

        public init(directory: URL) {
            self.directory = directory.standardizedFileURL
        }

        public var fleetCACertificate: URL { file("fleet-ca.pem") }
        public var fleetCAKey: URL { file("fleet-ca.key") }
        public var edgeCertificate: URL { file("edge.pem") }
        public var edgeKey: URL { file("edge.key") }
        public var coreCertificate: URL { file("core.pem") }
        public var coreKey: URL { file("core.key") }
        public var edgeClientCertificate: URL { file("edge-client.pem") }
        public var edgeClientKey: URL { file("edge-client.key") }
        public var infrastructureCACertificate: URL { file("infra-ca.pem") }
        public var infrastructureCAKey: URL { file("infra-ca.key") }
        public var adminCertificate: URL { file("admin.pem") }
        public var adminKey: URL { file("admin.key") }
        public var devicesDirectory: URL { file(TestPKI.devicesDirectoryName) }
        public var devicesCSV: URL { file("devices.csv") }

        /// Path of a device's certificate relative to `directory`, as written in `devices.csv`.
        public func relativeDeviceCertificatePath(for eid: EID) -> String { "\(TestPKI.devicesDirectoryName)/\(eid).pem" }
        /// Path of a device's key relative to `directory`, as written in `devices.csv`.
        public func relativeDeviceKeyPath(for eid: EID) -> String { "\(TestPKI.devicesDirectoryName)/\(eid).key" }

        /// Every top-level file and directory a PKI consists of.
        var artifacts: [URL] {
            [
                fleetCACertificate, fleetCAKey, edgeCertificate, edgeKey, coreCertificate, coreKey,
                edgeClientCertificate, edgeClientKey, infrastructureCACertificate, infrastructureCAKey,
                adminCertificate, adminKey, devicesDirectory, devicesCSV,
            ]
        }

        func file(_ relativePath: String) -> URL {
            relativePath.hasPrefix("/")
                ? URL(fileURLWithPath: relativePath)
                : directory.appendingPathComponent(relativePath, isDirectory: false)
        }
    }

    /// One device of the fleet and its credentials.
    public struct Device: Sendable, Hashable {
        public var identity: FleetIdentity
        /// The device certificate (PEM).
        public var certificate: URL
        /// The device private key (PKCS#8 PEM).
        public var key: URL

        public init(identity: FleetIdentity, certificate: URL, key: URL) {
            self.identity = identity
            self.certificate = certificate
            self.key = key
        }
    }

    /// The organisation in every certificate subject of a test PKI.
    public static let organization = "ServerLPA Test Fleet"
    /// The header line of `devices.csv`.
    public static let inventoryHeader = "eid,imei,iccid,model,cert,key"
    static let devicesDirectoryName = "devices"

    /// Where the files are.
    public let layout: Layout
    /// The devices, in inventory order (device index order for a created PKI).
    public let devices: [Device]

    public init(layout: Layout, devices: [Device]) {
        self.layout = layout
        self.devices = devices
    }

    // MARK: - Creating

    /// Creates a test PKI in `directory` (made if missing) with `devices` device certificates.
    ///
    /// Work is spread over all cores; the fleet CA key is generated once and reused, and every certificate is
    /// written straight from the object that signed it. `progress` is called from worker threads with
    /// (devices done, total), about every 1 % and once at the end.
    ///
    /// - Parameters:
    ///   - validityDays: lifetime of the server, client and device certificates (the CA gets ten years).
    ///   - overwrite: replace an existing PKI in `directory` (its files and `devices/` are removed first);
    ///     without it an existing PKI is an error and nothing is touched.
    /// - Throws: `TestPKIError`, naming the file or device that failed.
    @discardableResult
    public static func create(
        at directory: URL,
        devices count: Int,
        curve: EllipticCurve = .p256,
        model: String = FleetIdentity.defaultModel,
        numbering: FleetIdentity.Numbering = .simulator,
        validityDays: Int = 825,
        adminNames: [String] = [],
        overwrite: Bool = false,
        progress: (@Sendable (_ completed: Int, _ total: Int) -> Void)? = nil
    ) throws(TestPKIError) -> TestPKI {
        guard (0...numbering.capacity).contains(count) else {
            throw .invalidDeviceCount(count, maximum: numbering.capacity)
        }
        guard !model.isEmpty, !model.contains(where: { ",\"\r\n".contains($0) }) else {
            throw .invalidParameter(name: "model", reason: "must be non-empty without commas, quotes or line breaks")
        }
        guard validityDays > 0 else {
            throw .invalidParameter(name: "validityDays", reason: "must be positive, got \(validityDays)")
        }
        if count > 0 {
            for index in [0, count - 1] {
                do throws(IdentityError) {
                    _ = try FleetIdentity.make(index: index, model: model, numbering: numbering)
                } catch {
                    throw .identity(what: "numbering for device \(index)", error)
                }
            }
        }

        let layout = Layout(directory: directory)
        try prepare(layout, overwrite: overwrite)

        let now = Date()
        let notBefore = now.addingTimeInterval(-3600)
        let notAfter = now.addingTimeInterval(TimeInterval(validityDays) * 86400)
        let caNotAfter = now.addingTimeInterval(10 * 365 * 86400)
        let authority = try makeAuthority(
            layout, commonName: "ServerLPA Test Fleet CA", certificate: layout.fleetCACertificate, key: layout.fleetCAKey,
            curve: curve, notBefore: notBefore, notAfter: caNotAfter)
        let infrastructure = try makeAuthority(
            layout, commonName: "ServerLPA Test Infrastructure CA", certificate: layout.infrastructureCACertificate,
            key: layout.infrastructureCAKey, curve: curve, notBefore: notBefore, notAfter: caNotAfter)
        try makeServiceCertificates(layout, fleet: authority, infrastructure: infrastructure, curve: curve, notBefore: notBefore, notAfter: notAfter,
                                    adminNames: adminNames)

        try createDirectory(layout.devicesDirectory)
        let template = DeviceCertificateTemplate(
            layout: layout, authority: authority, curve: curve, model: model, numbering: numbering,
            notBefore: notBefore, notAfter: notAfter
        )
        let devices = try template.makeDevices(count: count, progress: progress)

        var inventory = inventoryHeader + "\n"
        inventory.reserveCapacity(devices.count * 140)
        for device in devices {
            let eid = device.identity.eid
            inventory += "\(eid),\(device.identity.imei),\(device.identity.iccid),\(device.identity.model),"
                + "\(layout.relativeDeviceCertificatePath(for: eid)),\(layout.relativeDeviceKeyPath(for: eid))\n"
        }
        let temporary = layout.file("devices.csv.tmp")
        try writeFile(inventory, to: temporary, mode: 0o644)
        guard rename(temporary.path, layout.devicesCSV.path) == 0 else {
            throw .fileSystem(path: layout.devicesCSV.path, reason: "cannot rename into place: \(errnoText())")
        }
        return TestPKI(layout: layout, devices: devices)
    }

    /// Creates the directory if needed; refuses (or with `overwrite`, clears) an existing PKI.
    private static func prepare(_ layout: Layout, overwrite: Bool) throws(TestPKIError) {
        try createDirectory(layout.directory)
        let existing = layout.artifacts.filter { FileManager.default.fileExists(atPath: $0.path) }
        guard !existing.isEmpty else { return }
        guard overwrite else { throw .alreadyExists(path: layout.directory.path) }
        for url in existing {
            do {
                try FileManager.default.removeItem(at: url)
            } catch {
                throw .fileSystem(path: url.path, reason: "cannot remove: \(fileErrorText(error))")
            }
        }
    }

    private static func makeAuthority(
        _ layout: Layout, commonName: String, certificate: URL, key keyFile: URL, curve: EllipticCurve, notBefore: Date, notAfter: Date
    ) throws(TestPKIError) -> CertificateAuthority {
        let what = "\(commonName) (\(certificate.path))"
        let authority: CertificateAuthority
        let keyPEM: String
        do throws(CryptoError) {
            let key = try PrivateKey.generate(curve: curve)
            var builder = CertificateBuilder(
                subject: DistinguishedName(organization: organization, commonName: commonName),
                subjectPublicKey: key.publicKey, notBefore: notBefore, notAfter: notAfter
            )
            builder.basicConstraints = .certificateAuthority(pathLength: 0)
            builder.keyUsage = [.keyCertSign, .cRLSign, .digitalSignature]
            authority = CertificateAuthority(certificate: try builder.build(issuer: .selfSigned(key)), key: key)
            keyPEM = try key.pemPKCS8
        } catch {
            throw .crypto(what: what, error)
        }
        try writeFile(keyPEM, to: keyFile, mode: 0o600)
        try writeFile(authority.certificate.pem, to: certificate, mode: 0o644)
        return authority
    }

    private static func makeServiceCertificates(
        _ layout: Layout, fleet: CertificateAuthority, infrastructure: CertificateAuthority, curve: EllipticCurve,
        notBefore: Date, notAfter: Date, adminNames: [String]
    ) throws(TestPKIError) {
        let loopback: [GeneralName] = [.dnsName("localhost"), .ipAddress([127, 0, 0, 1]), .ipAddress([UInt8](repeating: 0, count: 15) + [1])]
        let extra: [GeneralName] = adminNames.map { name in
            let octets = name.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
            return octets.count == 4 && name.split(separator: ".").count == 4 ? .ipAddress(octets) : .dnsName(name)
        }
        let services: [(name: String, certificate: URL, key: URL, usages: [ExtendedKeyUsage], names: [GeneralName], authority: CertificateAuthority)] = [
            ("lpa-edge", layout.edgeCertificate, layout.edgeKey, [.serverAuth], loopback, fleet),
            ("lpa-core", layout.coreCertificate, layout.coreKey, [.serverAuth], loopback + [.uri(InfrastructureRole.core)], infrastructure),
            ("lpa-edge", layout.edgeClientCertificate, layout.edgeClientKey, [.clientAuth], [.uri(InfrastructureRole.edge)], infrastructure),
            ("lpa-core admin", layout.adminCertificate, layout.adminKey, [.serverAuth], loopback + extra, fleet),
        ]
        for service in services {
            let certificatePEM: String
            let keyPEM: String
            do throws(CryptoError) {
                let key = try PrivateKey.generate(curve: curve)
                var builder = CertificateBuilder(
                    subject: DistinguishedName(organization: organization, commonName: service.name),
                    subjectPublicKey: key.publicKey, notBefore: notBefore, notAfter: notAfter
                )
                builder.basicConstraints = .endEntity
                builder.keyUsage = [.digitalSignature]
                builder.extendedKeyUsage = service.usages
                builder.subjectAltNames = service.names
                certificatePEM = try builder.build(issuer: .certificate(service.authority.certificate, key: service.authority.key)).pem
                keyPEM = try key.pemPKCS8
            } catch {
                throw .crypto(what: service.certificate.path, error)
            }
            try writeFile(keyPEM, to: service.key, mode: 0o600)
            try writeFile(certificatePEM, to: service.certificate, mode: 0o644)
        }
    }

    // MARK: - Loading

    /// Reads the inventory of the test PKI in `directory` (it does not parse certificates or keys).
    /// - Throws: `TestPKIError` when `devices.csv` or the fleet CA is missing, a row is malformed, or an
    ///   identifier is invalid.
    public static func load(from directory: URL) throws(TestPKIError) -> TestPKI {
        let layout = Layout(directory: directory)
        let csvPath = layout.devicesCSV.path
        for required in [layout.fleetCACertificate, layout.devicesCSV] where !FileManager.default.fileExists(atPath: required.path) {
            throw .fileSystem(path: required.path, reason: "missing (create the PKI with `lpa-sim pki init --dir \(layout.directory.path)`)")
        }
        let text: String
        do {
            text = try String(contentsOf: layout.devicesCSV, encoding: .utf8)
        } catch {
            throw .fileSystem(path: csvPath, reason: "cannot read: \(fileErrorText(error))")
        }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let headerLine = lines.first else {
            throw .malformedInventory(path: csvPath, line: 1, reason: "empty file, expected header \(inventoryHeader)")
        }
        let header = headerLine.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var columns: [String: Int] = [:]
        for name in inventoryHeader.split(separator: ",").map(String.init) {
            guard let index = header.firstIndex(of: name) else {
                throw .malformedInventory(path: csvPath, line: 1, reason: "header lacks column \"\(name)\" (expected \(inventoryHeader))")
            }
            columns[name] = index
        }
        var devices: [Device] = []
        devices.reserveCapacity(lines.count - 1)
        for (offset, line) in lines.dropFirst().enumerated() {
            let lineNumber = offset + 2
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == header.count else {
                throw .malformedInventory(path: csvPath, line: lineNumber, reason: "expected \(header.count) fields, found \(fields.count)")
            }
            func field(_ name: String) -> String { fields[columns[name]!] }
            let identity: FleetIdentity
            do throws(IdentityError) {
                identity = FleetIdentity(
                    eid: try EID(field("eid")), imei: try IMEI(field("imei")), iccid: try ICCID(field("iccid")),
                    model: field("model")
                )
            } catch {
                throw .identity(what: "\(csvPath):\(lineNumber)", error)
            }
            devices.append(Device(identity: identity, certificate: layout.file(field("cert")), key: layout.file(field("key"))))
        }
        return TestPKI(layout: layout, devices: devices)
    }

    /// Reads the fleet CA certificate and key, for issuing extra certificates in tests.
    public func certificateAuthority() throws(TestPKIError) -> (certificate: Certificate, key: PrivateKey) {
        try Self.readAuthority(certificate: layout.fleetCACertificate, key: layout.fleetCAKey, what: "fleet CA in \(layout.directory.path)")
    }

    /// Reads the infrastructure CA certificate and key, for issuing extra edge or core certificates in tests.
    public func infrastructureAuthority() throws(TestPKIError) -> (certificate: Certificate, key: PrivateKey) {
        try Self.readAuthority(certificate: layout.infrastructureCACertificate, key: layout.infrastructureCAKey,
                               what: "infrastructure CA in \(layout.directory.path)")
    }

    private static func readAuthority(certificate: URL, key: URL, what: String) throws(TestPKIError) -> (certificate: Certificate, key: PrivateKey) {
        let certificatePEM = try readText(certificate)
        let keyPEM = try readText(key)
        do throws(CryptoError) {
            return (try Certificate(pem: certificatePEM), try PrivateKey(pem: keyPEM))
        } catch {
            throw .crypto(what: what, error)
        }
    }

    // MARK: - Files

    static func readText(_ url: URL) throws(TestPKIError) -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw .fileSystem(path: url.path, reason: "cannot read: \(fileErrorText(error))")
        }
    }

    static func createDirectory(_ url: URL) throws(TestPKIError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw .fileSystem(path: url.path, reason: "cannot create directory: \(fileErrorText(error))")
        }
    }

    /// Writes `text` to `url` with exactly `mode` permissions (also when the file already existed).
    static func writeFile(_ text: String, to url: URL, mode: mode_t) throws(TestPKIError) {
        let path = url.path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw .fileSystem(path: path, reason: "cannot open for writing: \(errnoText())") }
        defer { close(descriptor) }
        guard fchmod(descriptor, mode) == 0 else { throw .fileSystem(path: path, reason: "cannot set permissions: \(errnoText())") }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                posixWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw .fileSystem(path: path, reason: "cannot write: \(errnoText())")
            }
            offset += written
        }
    }
}

/// The signing half of the fleet CA, shared read-only by the device workers.
struct CertificateAuthority: Sendable {
    let certificate: Certificate
    let key: PrivateKey
}

/// The operating system's reason inside a Foundation file error (for example "Permission denied"), or the
/// error's own description.
func fileErrorText(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    return nsError.localizedDescription
}

/// The text of the current `errno`.
func errnoText() -> String {
    String(cString: strerror(errno))
}

/// POSIX `write(2)`, named apart from the Swift methods called `write`.
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, bytes, count)
    #elseif canImport(Musl)
    Musl.write(descriptor, bytes, count)
    #else
    Darwin.write(descriptor, bytes, count)
    #endif
}
