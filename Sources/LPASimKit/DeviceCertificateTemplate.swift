import Foundation
import LPACrypto
import LPAIdentity

/// Issues the device certificates of a `TestPKI`, in parallel over contiguous ranges of device indexes.
///
/// Every worker shares the fleet CA (read-only; OpenSSL signs concurrently with one key) and writes only its
/// own devices' files, so the only shared mutable state is the result table and the progress counter, both
/// behind one lock.
struct DeviceCertificateTemplate: Sendable {
    let layout: TestPKI.Layout
    let authority: CertificateAuthority
    let curve: EllipticCurve
    let model: String
    let numbering: FleetIdentity.Numbering
    let notBefore: Date
    let notAfter: Date

    /// Makes devices `0..<count`, writing `devices/<EID>.pem` and `.key`; returns them in index order.
    func makeDevices(count: Int, progress: (@Sendable (Int, Int) -> Void)?) throws(TestPKIError) -> [TestPKI.Device] {
        guard count > 0 else {
            progress?(0, 0)
            return []
        }
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, count / 32))
        let chunk = (count + workers - 1) / workers
        let results = WorkerResults(workers: workers, total: count, progress: progress)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let range = (worker * chunk)..<min(count, (worker + 1) * chunk)
            var devices: [TestPKI.Device] = []
            devices.reserveCapacity(range.count)
            let generator: KeyPairGenerator
            do throws(CryptoError) {
                generator = try KeyPairGenerator(curve: curve)
            } catch {
                results.fail(.crypto(what: "preparing device key generation", error))
                return
            }
            for index in range {
                if results.hasFailed { return }
                do throws(TestPKIError) {
                    devices.append(try makeDevice(index: index, generator: generator))
                } catch {
                    results.fail(error)
                    return
                }
                results.deviceDone()
            }
            results.store(devices, worker: worker)
        }
        return try results.collect()
    }

    private func makeDevice(index: Int, generator: KeyPairGenerator) throws(TestPKIError) -> TestPKI.Device {
        let identity: FleetIdentity
        do throws(IdentityError) {
            identity = try FleetIdentity.make(index: index, model: model, numbering: numbering)
        } catch {
            throw .identity(what: "device \(index)", error)
        }
        let certificatePEM: String
        let keyPEM: String
        do throws(CryptoError) {
            let key = try generator.generate()
            var builder = CertificateBuilder(
                subject: DistinguishedName(
                    organization: TestPKI.organization,
                    commonName: identity.eid.value,
                    serialNumber: identity.imei.value
                ),
                subjectPublicKey: key.publicKey, notBefore: notBefore, notAfter: notAfter
            )
            builder.basicConstraints = .endEntity
            builder.keyUsage = [.digitalSignature]
            builder.extendedKeyUsage = [.clientAuth]
            certificatePEM = try builder.build(issuer: .certificate(authority.certificate, key: authority.key)).pem
            keyPEM = try key.pemPKCS8
        } catch {
            throw .crypto(what: "device \(index) (EID \(identity.eid))", error)
        }
        let certificate = layout.file(layout.relativeDeviceCertificatePath(for: identity.eid))
        let key = layout.file(layout.relativeDeviceKeyPath(for: identity.eid))
        try TestPKI.writeFile(keyPEM, to: key, mode: 0o600)
        try TestPKI.writeFile(certificatePEM, to: certificate, mode: 0o644)
        return TestPKI.Device(identity: identity, certificate: certificate, key: key)
    }
}

/// What the device workers produce: each worker's devices, the first error, and the progress count.
private final class WorkerResults: @unchecked Sendable {
    private let lock = NSLock()
    private var perWorker: [[TestPKI.Device]]
    private var firstError: TestPKIError?
    private var completed = 0
    private var failed = false
    private let total: Int
    private let reportEvery: Int
    private let progress: (@Sendable (Int, Int) -> Void)?

    init(workers: Int, total: Int, progress: (@Sendable (Int, Int) -> Void)?) {
        perWorker = Array(repeating: [], count: workers)
        self.total = total
        self.reportEvery = max(1, total / 100)
        self.progress = progress
    }

    var hasFailed: Bool {
        lock.withLock { failed }
    }

    func deviceDone() {
        let done: Int? = lock.withLock {
            completed += 1
            return completed % reportEvery == 0 || completed == total ? completed : nil
        }
        if let done { progress?(done, total) }
    }

    func fail(_ error: TestPKIError) {
        lock.withLock {
            if firstError == nil { firstError = error }
            failed = true
        }
    }

    func store(_ devices: [TestPKI.Device], worker: Int) {
        lock.withLock { perWorker[worker] = devices }
    }

    func collect() throws(TestPKIError) -> [TestPKI.Device] {
        let (error, devices) = lock.withLock { (firstError, perWorker) }
        if let error { throw error }
        return devices.flatMap { $0 }
    }
}
