/// The roles of ServerLPA's own processes on the edge–core link, written as a URI in the subject
/// alternative name of their certificates (`URI:urn:serverlpa:role:edge`).
///
/// Device certificates come from the device makers' CAs and never carry these; edge and core
/// certificates come from an infrastructure CA of their own. lpa-core accepts on its edge port only
/// client certificates that chain to that CA and carry ``edge``; lpa-edge accepts towards the core
/// only server certificates that chain to it and carry ``core``
/// (``TLSConfiguration/requiredPeerURI``).
public enum InfrastructureRole {
    /// An lpa-edge acting towards lpa-core.
    public static let edge = "urn:serverlpa:role:edge"
    /// An lpa-core serving edges.
    public static let core = "urn:serverlpa:role:core"
}
