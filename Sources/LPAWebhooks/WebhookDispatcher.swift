import Foundation
import LPACore
import LPADomain
import LPAStore
import Logging
import Metrics

/// Delivers webhook events: ``publish(_:)`` writes one delivery per matching endpoint to the store's outbox;
/// ``deliverDue()`` claims the deliveries that are due, POSTs each, signed, to its endpoint, and records the
/// outcome. A 2xx answer delivers; anything else (another status, no answer, a timeout) is retried with
/// exponential backoff until ``Settings/maximumAttempts``, then the delivery is dead.
///
/// Delivery is at least once: a delivery is claimed for a lease longer than an attempt's timeout, so a core
/// that dies mid-attempt leaves it to be claimed again (by any core sharing the store) when the lease ends;
/// receivers drop duplicates by `X-ServerLPA-Delivery`. Order is not kept, not even per endpoint.
///
/// An actor: callable from any task. The outbox is the store's, so a new dispatcher on the same store
/// delivers what an earlier one left.
public actor WebhookDispatcher {
    public struct Settings: Sendable, Hashable {
        /// Wait after the first failed attempt; doubled after each further one.
        public var baseDelaySeconds: Int64
        /// Longest wait between attempts.
        public var maximumDelaySeconds: Int64
        /// Attempts before a delivery is dead.
        public var maximumAttempts: Int
        /// Deadline of one attempt.
        public var timeoutSeconds: Int64
        /// Most deliveries claimed (and attempted concurrently) at once.
        public var batchSize: Int

        public init(baseDelaySeconds: Int64 = 5, maximumDelaySeconds: Int64 = 3600, maximumAttempts: Int = 12,
                    timeoutSeconds: Int64 = 10, batchSize: Int = 32) {
            self.baseDelaySeconds = baseDelaySeconds
            self.maximumDelaySeconds = maximumDelaySeconds
            self.maximumAttempts = maximumAttempts
            self.timeoutSeconds = timeoutSeconds
            self.batchSize = batchSize
        }

        /// The wait after attempt `attempt` (1-based) failed: `min(maximum, base × 2^(attempt−1))`.
        public func delay(afterAttempt attempt: Int) -> Int64 {
            let doublings = max(0, min(attempt - 1, 62))
            let (scaled, overflow) = baseDelaySeconds.multipliedReportingOverflow(by: Int64(1) << doublings)
            return overflow ? maximumDelaySeconds : min(maximumDelaySeconds, scaled)
        }

        /// How long a claim holds a delivery: past the attempt's deadline, so a live attempt is never repeated.
        var leaseSeconds: Int64 { timeoutSeconds * 2 + 5 }
    }

    /// What one ``deliverDue()`` call did.
    public struct Round: Sendable, Hashable {
        public var delivered = 0
        /// Failed attempts that will be tried again.
        public var retried = 0
        public var dead = 0
        /// Deliveries of disabled endpoints pushed to later, untried.
        public var postponed = 0

        public init(delivered: Int = 0, retried: Int = 0, dead: Int = 0, postponed: Int = 0) {
            self.delivered = delivered
            self.retried = retried
            self.dead = dead
            self.postponed = postponed
        }
    }

    private let store: any Store
    private let endpoints: [String: WebhookEndpoint]
    private let order: [WebhookEndpoint]
    private let settings: Settings
    private let transport: any WebhookTransport
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let outcomes: (delivered: Counter, retried: Counter, dead: Counter)

    private var waiter: CheckedContinuation<Void, Never>?
    private var wakePending = false

    /// - Throws: ``WebhookError/invalidEndpoint(name:_:)`` when two endpoints share a name.
    public init(store: any Store, endpoints: [WebhookEndpoint], settings: Settings = Settings(), transport: any WebhookTransport,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                logger: Logger = Logger(label: "serverlpa.core.webhooks")) throws {
        var byName: [String: WebhookEndpoint] = [:]
        for endpoint in endpoints where byName.updateValue(endpoint, forKey: endpoint.name) != nil {
            throw WebhookError.invalidEndpoint(name: endpoint.name, "the name is used twice")
        }
        self.store = store
        self.endpoints = byName
        self.order = endpoints
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.logger = logger
        outcomes = (Counter(label: "lpa_webhook_deliveries_total", dimensions: [("outcome", "delivered")]),
                    Counter(label: "lpa_webhook_deliveries_total", dimensions: [("outcome", "retried")]),
                    Counter(label: "lpa_webhook_deliveries_total", dimensions: [("outcome", "dead")]))
    }

    // MARK: Publishing

    /// Writes one delivery of `event` per enabled endpoint that wants its type, due now, and wakes ``run(pollInterval:)``.
    /// Returns the deliveries written (none when no endpoint wants the event).
    @discardableResult
    public func publish(_ event: WebhookEvent) async throws -> [WebhookDelivery] {
        let now = clock()
        let body = event.body
        let deliveries = order.filter { $0.enabled && $0.wants(event.type) }.map { endpoint in
            WebhookDelivery(id: UUID().uuidString.lowercased(), eventID: event.id, eventType: event.type.rawValue,
                            endpoint: endpoint.name, body: body, nextAttemptAt: now, createdAt: now)
        }
        guard !deliveries.isEmpty else { return [] }
        try await store.addWebhookDeliveries(deliveries)
        wake()
        return deliveries
    }

    // MARK: Delivering

    /// Attempts every delivery due now, a batch at a time, and records each outcome. Never throws: store
    /// failures are logged and the deliveries come due again when their claim runs out.
    @discardableResult
    public func deliverDue() async -> Round {
        var round = Round()
        while !Task.isCancelled {
            let now = clock()
            let batch: [WebhookDelivery]
            do {
                batch = try await store.claimWebhookDeliveries(now: now, leaseUntil: now + settings.leaseSeconds, limit: settings.batchSize)
            } catch {
                logger.error("cannot claim webhook deliveries", metadata: ["error": "\(error)"])
                break
            }
            if batch.isEmpty { break }
            let results = await attempt(batch)
            // Stopped mid-attempt: record nothing; the claims run out and the deliveries are attempted again.
            if Task.isCancelled { break }
            for (delivery, result) in zip(batch, results) {
                await record(delivery, result, into: &round)
            }
            if batch.count < settings.batchSize { break }
        }
        return round
    }

    /// Delivers until the calling task is cancelled: after each round it waits for ``publish(_:)`` or for
    /// `pollInterval` (retries that came due), whichever is first.
    public func run(pollInterval: Duration) async {
        while !Task.isCancelled {
            await deliverDue()
            await waitForWork(upTo: pollInterval)
        }
    }

    /// The outcome of one attempt.
    enum Attempt: Sendable {
        case answered(status: Int)
        case failed(String)
        /// The endpoint is no longer configured, or is disabled.
        case unknownEndpoint
        case disabled
    }

    /// Sends a batch concurrently; results in batch order.
    private func attempt(_ batch: [WebhookDelivery]) async -> [Attempt] {
        let transport = self.transport
        let timeout = settings.timeoutSeconds
        let timestamp = clock()
        let targets = batch.map { endpoints[$0.endpoint] }
        return await withTaskGroup(of: (Int, Attempt).self) { group in
            for (index, delivery) in batch.enumerated() {
                guard let endpoint = targets[index] else {
                    group.addTask { (index, .unknownEndpoint) }
                    continue
                }
                guard endpoint.enabled else {
                    group.addTask { (index, .disabled) }
                    continue
                }
                group.addTask {
                    let body = Array(delivery.body.utf8)
                    do {
                        let headers = [
                            ("Content-Type", "application/json"),
                            ("X-ServerLPA-Event", delivery.eventType),
                            ("X-ServerLPA-Delivery", delivery.id),
                            ("X-ServerLPA-Timestamp", String(timestamp)),
                            ("X-ServerLPA-Signature", try WebhookSignature.header(body: body, timestamp: timestamp, secret: endpoint.secret)),
                        ]
                        let status = try await transport.post(endpoint.url, headers: headers, body: body, timeoutSeconds: timeout)
                        return (index, .answered(status: status))
                    } catch {
                        return (index, .failed("\(error)"))
                    }
                }
            }
            var results = [Attempt](repeating: .failed("not attempted"), count: batch.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
    }

    private func record(_ claimed: WebhookDelivery, _ result: Attempt, into round: inout Round) async {
        var delivery = claimed
        let now = clock()
        var metadata: Logger.Metadata = [
            "delivery": "\(delivery.id)", "event": "\(delivery.eventType)", "event_id": "\(delivery.eventID)", "endpoint": "\(delivery.endpoint)",
        ]
        switch result {
        case .answered(let status) where (200..<300).contains(status):
            delivery.attempts += 1
            delivery.state = .delivered
            delivery.lastStatus = status
            delivery.lastError = nil
            delivery.finishedAt = now
            round.delivered += 1
            outcomes.delivered.increment()
            logger.debug("webhook delivered", metadata: metadata.merging(["attempts": "\(delivery.attempts)"]) { $1 })
        case .disabled:
            delivery.nextAttemptAt = now + settings.maximumDelaySeconds
            round.postponed += 1
        case .unknownEndpoint:
            delivery.state = .dead
            delivery.lastError = "endpoint '\(delivery.endpoint)' is no longer configured"
            delivery.finishedAt = now
            round.dead += 1
            outcomes.dead.increment()
            logger.warning("webhook delivery given up: its endpoint is no longer configured", metadata: metadata)
        case .answered, .failed:
            delivery.attempts += 1
            if case .answered(let status) = result {
                delivery.lastStatus = status
                delivery.lastError = "HTTP \(status)"
            } else if case .failed(let reason) = result {
                delivery.lastStatus = nil
                delivery.lastError = reason
            }
            metadata["attempts"] = "\(delivery.attempts)"
            metadata["error"] = "\(delivery.lastError ?? "")"
            if delivery.attempts >= settings.maximumAttempts {
                delivery.state = .dead
                delivery.finishedAt = now
                round.dead += 1
                outcomes.dead.increment()
                logger.warning("webhook delivery given up after the last attempt", metadata: metadata)
            } else {
                delivery.nextAttemptAt = now + settings.delay(afterAttempt: delivery.attempts)
                round.retried += 1
                outcomes.retried.increment()
                logger.notice("webhook attempt failed; retrying", metadata: metadata.merging(["next_attempt_at": "\(delivery.nextAttemptAt)"]) { $1 })
            }
        }
        do {
            try await store.saveWebhookDelivery(delivery)
        } catch {
            logger.error("webhook delivery outcome not saved; it is attempted again when its claim runs out",
                         metadata: metadata.merging(["store_error": "\(error)"]) { $1 })
        }
    }

    // MARK: Waiting

    private func wake() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            wakePending = true
        }
    }

    private func waitForWork(upTo interval: Duration) async {
        if wakePending {
            wakePending = false
            return
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: interval)
            if !Task.isCancelled { await self?.wake() }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiter = $0 }
        } onCancel: {
            Task { await self.wake() }
        }
        timer.cancel()
        wakePending = false
    }
}

extension WebhookDispatcher: JobEventSink {
    /// Publishes the job's event; a failure to write it is logged, never passed to the job.
    /// Writes the campaign event for a state change to the outbox.
    public func campaignChanged(_ campaign: Campaign, from previous: Campaign.State?) async {
        do {
            guard let event = try WebhookEvent.campaign(campaign, from: previous) else { return }
            try await publish(event)
        } catch {
            logger.error("campaign event not written to the webhook outbox", metadata: ["campaign": "\(campaign.id)", "error": "\(error)"])
        }
    }

    public func jobChanged(_ job: ProvisioningJob, from previous: ProvisioningJob.State?) async {
        do {
            try await publish(try WebhookEvent.job(job, from: previous))
        } catch {
            logger.error("job event not written to the webhook outbox", metadata: [
                "job": "\(job.id)", "state": "\(job.state.rawValue)", "error": "\(error)",
            ])
        }
    }
}
