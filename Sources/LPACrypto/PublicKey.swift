import COpenSSL

/// A public key owned by Swift (an OpenSSL `EVP_PKEY`).
///
/// Usually an EC key on one of the `EllipticCurve`s; keys of other types (an RSA key in a third-party
/// certificate, say) can be held, compared and encoded, but `curve` is `nil` and EC-only operations throw
/// `unsupportedAlgorithm`.
///
/// Immutable after initialisation and safe to share between threads: OpenSSL 3 only reads the key during
/// verification and key agreement, each of which uses its own operation context.
public final class PublicKey: @unchecked Sendable, Hashable, CustomStringConvertible {
    /// The owned `EVP_PKEY *` (for a key taken from a `PrivateKey`, a reference to that key); freed in
    /// `deinit`.
    let pointer: OpaquePointer

    /// The DER SubjectPublicKeyInfo (RFC 5280) of the key; EC keys are encoded with the curve's OID and the
    /// uncompressed point, whatever form they were decoded from.
    public let spkiDER: [UInt8]

    /// The key's curve, or `nil` when the key is not an EC key on a supported curve.
    public let curve: EllipticCurve?

    /// `04 ‖ x ‖ y` for EC keys on a supported curve.
    private let point: [UInt8]?

    /// Takes ownership of one reference to `pointer` (released even when this throws).
    ///
    /// The encodings are made without OpenSSL 3's generic key encoders, which cost hundreds of microseconds
    /// per call in 3.0: the point is read as a key parameter and wrapped with `X509_PUBKEY_set0_param`.
    init(owning pointer: OpaquePointer) throws(CryptoError) {
        let curve = ellipticCurve(of: pointer)
        do throws(CryptoError) {
            if let curve {
                let point = try readUncompressedPoint(of: pointer, curve: curve)
                self.point = point
                spkiDER = try subjectPublicKeyInfo(point: point, curve: curve)
            } else {
                point = nil
                spkiDER = try encodeDER("a SubjectPublicKeyInfo") { i2d_PUBKEY(pointer, $0) }
            }
        } catch {
            EVP_PKEY_free(pointer)
            throw error
        }
        self.pointer = pointer
        self.curve = curve
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Decodes a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    ///
    /// - Throws: `CryptoError.invalidInput` when the bytes are not exactly one well-formed SubjectPublicKeyInfo
    ///   (including a point that is not on its curve).
    public convenience init(spkiDER: [UInt8]) throws(CryptoError) {
        let key = try decodeDER(spkiDER, "a SubjectPublicKeyInfo", free: { EVP_PKEY_free($0) }) { cursor, length in
            d2i_PUBKEY(nil, cursor, length)
        }
        try self.init(owning: key)
    }

    /// Builds a public key from an uncompressed point `04 ‖ x ‖ y` on `curve` (the form SGP.22 carries in
    /// `euiccOtpk`, `otPK.EUICC.ECKA` and friends).
    ///
    /// - Throws: `CryptoError.invalidInput` when the bytes have the wrong length or prefix, or the point is not
    ///   a valid public key on `curve`.
    public convenience init(uncompressedPoint: [UInt8], curve: EllipticCurve) throws(CryptoError) {
        func context() -> String { "making a \(curve) public key from an uncompressed point" }
        guard uncompressedPoint.count == curve.uncompressedPointByteCount, uncompressedPoint.first == 0x04 else {
            throw CryptoError(
                code: .invalidInput,
                context: "\(context()): expected \(curve.uncompressedPointByteCount) bytes starting with 04, "
                    + "got \(uncompressedPoint.count) bytes"
            )
        }
        guard let keyContext = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw .openSSL(.internalFailure, context())
        }
        defer { EVP_PKEY_CTX_free(keyContext) }
        guard EVP_PKEY_fromdata_init(keyContext) == 1 else {
            throw .openSSL(.internalFailure, context())
        }
        // OSSL_PARAM entries point at their keys and values without copying them: every buffer stays alive
        // (inside these closures) until EVP_PKEY_fromdata returns.
        var key: OpaquePointer? = nil
        var point = uncompressedPoint
        let groupKey = Array(OSSL_PKEY_PARAM_GROUP_NAME.utf8CString)
        let publicKeyKey = Array(OSSL_PKEY_PARAM_PUB_KEY.utf8CString)
        var groupName = Array(curve.openSSLGroupName.utf8CString)
        let status = groupKey.withUnsafeBufferPointer { groupKey in
            publicKeyKey.withUnsafeBufferPointer { publicKeyKey in
                groupName.withUnsafeMutableBufferPointer { groupName in
                    point.withUnsafeMutableBytes { point in
                        var parameters = [
                            OSSL_PARAM_construct_utf8_string(groupKey.baseAddress, groupName.baseAddress, groupName.count - 1),
                            OSSL_PARAM_construct_octet_string(publicKeyKey.baseAddress, point.baseAddress, point.count),
                            OSSL_PARAM_construct_end(),
                        ]
                        return EVP_PKEY_fromdata(keyContext, &key, lpac_EVP_PKEY_PUBLIC_KEY(), &parameters)
                    }
                }
            }
        }
        guard status == 1, let key else {
            throw .openSSL(.invalidInput, context())
        }
        guard let checkContext = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else {
            EVP_PKEY_free(key)
            throw .openSSL(.internalFailure, context())
        }
        let valid = EVP_PKEY_public_check(checkContext) == 1
        EVP_PKEY_CTX_free(checkContext)
        guard valid else {
            EVP_PKEY_free(key)
            throw .openSSL(.invalidInput, "\(context()): the point is not a valid public key on the curve")
        }
        try self.init(owning: key)
    }

    /// The uncompressed point `04 ‖ x ‖ y`, whatever form the key was decoded from.
    ///
    /// - Throws: `CryptoError.unsupportedAlgorithm` when the key is not an EC key on a supported curve.
    public var uncompressedPoint: [UInt8] {
        get throws(CryptoError) {
            guard let point else {
                throw CryptoError(code: .unsupportedAlgorithm, context: "reading the point of a non-EC public key")
            }
            return point
        }
    }

    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool {
        lhs.spkiDER == rhs.spkiDER
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(spkiDER)
    }

    public var description: String {
        "PublicKey(\(curve?.rawValue ?? "non-EC"), \(spkiDER.count) bytes SPKI)"
    }
}

/// The supported curve of an EC `EVP_PKEY`, or `nil` for any other key.
func ellipticCurve(of key: OpaquePointer) -> EllipticCurve? {
    guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC else { return nil }
    var name = [CChar](repeating: 0, count: 64)
    var length = 0
    guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else {
        OpenSSLErrorQueue.clear()
        return nil
    }
    let groupName = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return EllipticCurve(openSSLGroupName: groupName)
}

/// The public point of an EC key on `curve`, uncompressed.
private func readUncompressedPoint(of key: OpaquePointer, curve: EllipticCurve) throws(CryptoError) -> [UInt8] {
    var point = [UInt8](repeating: 0, count: curve.uncompressedPointByteCount)
    var length = 0
    let status = point.withUnsafeMutableBufferPointer {
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, $0.baseAddress, $0.count, &length)
    }
    if status == 1, length == point.count, point[0] == 0x04 {
        return point
    }
    // A key decoded from a compressed point encodes itself compressed: rebuild the point from x and y.
    OpenSSLErrorQueue.clear()
    let size = curve.coordinateByteCount
    point = [UInt8](repeating: 0, count: curve.uncompressedPointByteCount)
    point[0] = 0x04
    for (index, name) in [OSSL_PKEY_PARAM_EC_PUB_X, OSSL_PKEY_PARAM_EC_PUB_Y].enumerated() {
        var coordinate: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(key, name, &coordinate) == 1, let coordinate else {
            throw .openSSL(.invalidInput, "reading the point of a \(curve) public key")
        }
        defer { BN_free(coordinate) }
        let written = point.withUnsafeMutableBufferPointer {
            BN_bn2binpad(coordinate, $0.baseAddress! + 1 + index * size, Int32(size))
        }
        guard written == size else {
            throw .openSSL(.invalidInput, "reading the point of a \(curve) public key")
        }
    }
    return point
}

/// The DER SubjectPublicKeyInfo `{ id-ecPublicKey, namedCurve } ‖ point`, encoded by OpenSSL's ASN.1 encoder.
func subjectPublicKeyInfo(point: [UInt8], curve: EllipticCurve) throws(CryptoError) -> [UInt8] {
    let publicKeyInfo = try makeX509PublicKey(point: point, curve: curve)
    defer { X509_PUBKEY_free(publicKeyInfo) }
    return try encodeDER("a SubjectPublicKeyInfo") { i2d_X509_PUBKEY(publicKeyInfo, $0) }
}

/// A new `X509_PUBKEY` (owned by the caller) holding `point` on `curve`, without a decoded `EVP_PKEY`.
func makeX509PublicKey(point: [UInt8], curve: EllipticCurve) throws(CryptoError) -> OpaquePointer {
    guard let publicKeyInfo = X509_PUBKEY_new() else {
        throw .openSSL(.internalFailure, "allocating a SubjectPublicKeyInfo")
    }
    guard try setPublicKey(point: point, curve: curve, in: publicKeyInfo) else {
        X509_PUBKEY_free(publicKeyInfo)
        throw .openSSL(.encodingFailed, "encoding a \(curve) SubjectPublicKeyInfo")
    }
    return publicKeyInfo
}

/// Sets the algorithm and key bits of `publicKeyInfo` to `point` on `curve`; `false` when OpenSSL refuses.
func setPublicKey(point: [UInt8], curve: EllipticCurve, in publicKeyInfo: OpaquePointer) throws(CryptoError) -> Bool {
    guard let bits = lpac_OPENSSL_malloc(point.count)?.assumingMemoryBound(to: UInt8.self) else {
        throw .openSSL(.internalFailure, "allocating a SubjectPublicKeyInfo")
    }
    point.withUnsafeBufferPointer { bits.update(from: $0.baseAddress!, count: $0.count) }
    let algorithm = OBJ_nid2obj(NID_X9_62_id_ecPublicKey)
    let parameters = OBJ_nid2obj(curve.nid)
    guard X509_PUBKEY_set0_param(
        publicKeyInfo, algorithm, V_ASN1_OBJECT, UnsafeMutableRawPointer(parameters), bits, Int32(point.count)
    ) == 1 else {
        lpac_OPENSSL_free(bits)
        return false
    }
    return true
}

extension EllipticCurve {
    /// OpenSSL's numeric identifier for the curve.
    var nid: Int32 {
        switch self {
        case .p256: NID_X9_62_prime256v1
        case .brainpoolP256r1: NID_brainpoolP256r1
        }
    }
}
