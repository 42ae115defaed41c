/// The tags of the SGP.22 data objects this module reads and writes, as the specification prints them.
public enum RSPTag {
    // Universal
    public static let boolean: UInt32 = 0x01
    public static let integer: UInt32 = 0x02
    public static let bitString: UInt32 = 0x03
    public static let octetString: UInt32 = 0x04
    public static let objectIdentifier: UInt32 = 0x06
    public static let utf8String: UInt32 = 0x0C
    public static let sequence: UInt32 = 0x30

    // Application
    public static let aid: UInt32 = 0x4F
    public static let iccid: UInt32 = 0x5A
    public static let tagList: UInt32 = 0x5C
    public static let signature: UInt32 = 0x5F37
    public static let publicKey: UInt32 = 0x5F49
    public static let profileInfo: UInt32 = 0xE3
    public static let profileState: UInt32 = 0x9F70

    // ES10a/b/c functions
    public static let getEuiccInfo1: UInt32 = 0xBF20
    public static let prepareDownload: UInt32 = 0xBF21
    public static let getEuiccInfo2: UInt32 = 0xBF22
    public static let initialiseSecureChannel: UInt32 = 0xBF23
    public static let configureISDP: UInt32 = 0xBF24
    public static let storeMetadata: UInt32 = 0xBF25
    public static let replaceSessionKeys: UInt32 = 0xBF26
    public static let profileInstallationResultData: UInt32 = 0xBF27
    public static let listNotification: UInt32 = 0xBF28
    public static let retrieveNotificationsList: UInt32 = 0xBF2B
    public static let profileInfoList: UInt32 = 0xBF2D
    public static let getEuiccChallenge: UInt32 = 0xBF2E
    public static let notificationMetadata: UInt32 = 0xBF2F
    public static let notificationSent: UInt32 = 0xBF30
    public static let enableProfile: UInt32 = 0xBF31
    public static let disableProfile: UInt32 = 0xBF32
    public static let deleteProfile: UInt32 = 0xBF33
    public static let boundProfilePackage: UInt32 = 0xBF36
    public static let profileInstallationResult: UInt32 = 0xBF37
    public static let authenticateServer: UInt32 = 0xBF38
    public static let getEuiccData: UInt32 = 0xBF3E
    public static let cancelSession: UInt32 = 0xBF41
}
