/// Which core holds a terminal's live session, and the session's epoch: a number the store gives each new
/// session of the terminal, one more than the last. A registration of an existing session (an edge
/// registering its terminals again after losing a core) carries its epoch and is refused once a newer
/// session of the terminal registered, so a stale registration never overrides a live session.
public struct TerminalSession: Codable, Sendable, Hashable {
    public var terminalID: String
    /// The core the session is registered with; nil once it ended (the edge said the terminal left).
    public var coreID: String?
    public var epoch: Int64
    /// Unix seconds of the last change.
    public var updatedAt: Int64

    public init(terminalID: String, coreID: String?, epoch: Int64, updatedAt: Int64) {
        self.terminalID = terminalID
        self.coreID = coreID
        self.epoch = epoch
        self.updatedAt = updatedAt
    }
}
