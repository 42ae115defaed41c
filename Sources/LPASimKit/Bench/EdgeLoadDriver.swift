import Foundation
import LPATLS
import NIOCore
import NIOPosix

/// Drives benchmark connections to one server: launches them all, then runs heartbeats closed-loop
/// or paced, and reports merged counters.
///
/// The connections are split over the event loops of `group` (device `i` on loop `i % loops`),
/// each loop's share held by a ``LoadShard`` that only that loop touches. The driver steers the
/// shards from any task by running closures on their loops; nothing on the message path is shared.
public final class EdgeLoadDriver<Format: BenchWireFormat>: LoadControl {
    private let shards: [NIOLoopBound<LoadShard<Format>>]
    /// Number of connections this driver launches.
    public let connectionCount: Int

    /// - Parameters:
    ///   - devices: one connection per device, each presenting the device's credentials.
    ///   - maximumLaunching: connections between connect and welcome at once, over all loops.
    public init(
        format: Format, devices: [SimulatedDevice], target: LoadTarget, maximumLaunching: Int,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        let loops = Array(group.makeIterator())
        let perLoop = max(1, maximumLaunching / max(1, loops.count))
        var shards: [NIOLoopBound<LoadShard<Format>>] = []
        for (n, loop) in loops.enumerated() {
            let indices = Array(stride(from: n, to: devices.count, by: loops.count))
            shards.append(try await loop.submit {
                NIOLoopBound(
                    LoadShard(eventLoop: loop, format: format, devices: devices, deviceIndices: indices, target: target, maximumLaunching: perLoop),
                    eventLoop: loop)
            }.get())
        }
        self.shards = shards
        self.connectionCount = devices.count
    }

    /// Runs `body` on every shard's loop and collects the results in shard order.
    private func onEachShard<T: Sendable>(_ body: @escaping @Sendable (LoadShard<Format>) -> T) async throws -> [T] {
        let futures = shards.map { bound in bound.eventLoop.submit { body(bound.value) } }
        var results: [T] = []
        results.reserveCapacity(futures.count)
        for future in futures { results.append(try await future.get()) }
        return results
    }

    /// Counters of all connections so far.
    public func counters() async throws -> LoadCounters {
        try await onEachShard { $0.snapshot }.reduce(LoadCounters()) { $0.merged(with: $1) }
    }

    public func startLaunching() async throws {
        _ = try await onEachShard { $0.startLaunching() }
    }

    /// Starts the closed loop on every connection.
    public func startClosedLoop() async throws {
        _ = try await onEachShard { $0.startClosedLoop() }
    }

    /// Starts sending heartbeats at `ratePerSecond` over all connections, each loop taking its
    /// share of the rate in proportion to its connections, so every connection beats at the same rate.
    public func startPaced(ratePerSecond: Double) async throws {
        let ready = try await onEachShard { $0.readyCount }
        let total = max(1, ready.reduce(0, +))
        for (shard, count) in zip(shards, ready) {
            let share = ratePerSecond * Double(count) / Double(total)
            try await shard.eventLoop.submit { shard.value.startPaced(ratePerSecond: share) }.get()
        }
    }

    /// Starts or stops recording ack latencies; starting discards earlier samples.
    public func recordLatencies(_ on: Bool) async throws {
        _ = try await onEachShard { $0.recordLatencies(on) }
    }

    /// The ack latencies recorded, in nanoseconds, from all loops (unordered).
    public func latencies() async throws -> [UInt64] {
        try await onEachShard { $0.recordedLatencies }.flatMap { $0 }
    }

    public func stopSending() async throws {
        _ = try await onEachShard { $0.stopHeartbeats() }
    }

    /// Closes every connection (not counted as lost) and launches them all again towards `target`;
    /// returns once the relaunch started. See ``LoadShard/relaunchAll(target:)``.
    public func relaunchAll(target: LoadTarget) async throws {
        let futures = shards.map { bound in bound.eventLoop.flatSubmit { bound.value.relaunchAll(target: target) } }
        for future in futures { try await future.get() }
    }

    /// Closes every connection and waits until they are closed.
    public func closeAll() async {
        let futures = shards.map { bound in bound.eventLoop.flatSubmit { bound.value.closeAll() } }
        for future in futures { try? await future.get() }
    }

    /// This process's CPU time: the connections live here.
    public func cpuSeconds() throws -> Double {
        try ProcessProbe(pid: getpid()).cpuSeconds()
    }
}
