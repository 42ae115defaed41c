import Foundation
import LPACore
import Logging

/// Devices online and offline over time, as this core's online dictionary saw them: a sample every
/// `interval` into a ring of `capacity` samples (the Fleet page's chart). Starts empty at each core
/// start; several cores each keep their own.
///
/// An actor; ``start()`` runs the sampling task until ``stop()``.
public actor PresenceSampler {
    /// One sample: when, and how many devices were online and offline.
    public struct Sample: Codable, Sendable, Hashable {
        public var at: Int64
        public var online: Int
        public var offline: Int
    }

    private let engine: CoreEngine
    private let logger: Logger
    public nonisolated let interval: Duration
    public nonisolated let capacity: Int
    private let clock: @Sendable () -> Int64
    private var ring: [Sample] = []
    private var task: Task<Void, Never>?
    private var stopped = false

    public init(engine: CoreEngine, interval: Duration = .seconds(10), capacity: Int = 8640, logger: Logger,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.engine = engine
        self.interval = interval
        self.capacity = max(1, capacity)
        self.logger = logger
        self.clock = clock
    }

    /// Samples now, then every `interval`.
    public nonisolated func start() {
        Task { await self.run() }
    }

    private func run() {
        guard task == nil, !stopped else { return }
        let interval = self.interval
        task = Task { [weak self] in
            while !Task.isCancelled {
                await self?.sample()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Stops sampling for good (also when called before the task began).
    public func stop() {
        stopped = true
        task?.cancel()
        task = nil
    }

    /// Takes one sample now.
    public func sample() async {
        let presence = await engine.presence
        let online = await presence.onlineCount
        let known = await presence.count
        ring.append(Sample(at: clock(), online: online, offline: max(0, known - online)))
        if ring.count > capacity { ring.removeFirst(ring.count - capacity) }
    }

    /// The samples taken at or after `since`, oldest first.
    public func samples(since: Int64 = 0) -> [Sample] {
        ring.filter { $0.at >= since }
    }
}
