import NIOCore

/// Steers the benchmark connections to one server, wherever they live: in this process
/// (``EdgeLoadDriver``) or in a worker process of their own (``LoadWorker``).
public protocol LoadControl: Sendable {
    /// Starts launching every connection (bounded concurrency); returns at once.
    func startLaunching() async throws
    /// Counters of all connections so far.
    func counters() async throws -> LoadCounters
    /// Starts the closed loop: one heartbeat in flight per connection.
    func startClosedLoop() async throws
    /// Starts sending `ratePerSecond` heartbeats per second over all connections.
    func startPaced(ratePerSecond: Double) async throws
    /// Starts no new heartbeats; those in flight still count when acknowledged.
    func stopSending() async throws
    /// Starts (discarding earlier samples) or stops recording ack latencies.
    func recordLatencies(_ on: Bool) async throws
    /// The ack latencies recorded, in nanoseconds (unordered).
    func latencies() async throws -> [UInt64]
    /// Closes every connection and waits until they are closed.
    func closeAll() async
    /// CPU time (user + system) the process holding the connections has used so far.
    func cpuSeconds() throws -> Double
}

extension LoadControl {
    /// Launches every connection and waits until each was welcomed or failed, or until `timeout`.
    /// `progress` gets the counters about five times a second.
    public func launchAll(timeout: TimeAmount, progress: @Sendable (LoadCounters) -> Void) async throws -> LoadCounters {
        try await startLaunching()
        let deadline = NIODeadline.now() + timeout
        while true {
            try await Task.sleep(for: .milliseconds(200))
            let c = try await counters()
            progress(c)
            if c.launchesOutstanding == 0 || NIODeadline.now() > deadline { return c }
        }
    }

    /// Stops starting heartbeats and waits up to `timeout` for those in flight to be acknowledged;
    /// returns the counters then (``LoadCounters/inFlight`` > 0 if some never were).
    public func stopHeartbeats(drainTimeout timeout: TimeAmount) async throws -> LoadCounters {
        try await stopSending()
        let deadline = NIODeadline.now() + timeout
        while true {
            let c = try await counters()
            if c.inFlight <= 0 || NIODeadline.now() > deadline { return c }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
