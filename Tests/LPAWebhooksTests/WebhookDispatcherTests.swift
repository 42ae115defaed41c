import LPADomain
import LPAStore
import LPAWebhooks
import XCTest

/// Deliveries over HTTP to a receiver on 127.0.0.1 that checks signatures, on a clock the test moves:
/// retries with backoff, the attempt limit, event filters and restarts.
final class WebhookDispatcherTests: XCTestCase {
    private let secret = "receiver-secret-0123456789"
    private let settings = WebhookDispatcher.Settings(baseDelaySeconds: 10, maximumDelaySeconds: 25, maximumAttempts: 4, timeoutSeconds: 5)

    private struct Data: Encodable, Sendable { var job = "job-1" }

    private func event(_ type: WebhookEventType = .jobCreated, id: String = "evt-1") throws -> WebhookEvent {
        try WebhookEvent(id: id, type: type, occurredAt: 1_700_000_000, payload: Data())
    }

    private func dispatcher(_ store: any Store, _ endpoints: [WebhookEndpoint], _ clock: ManualClock,
                            transport: HTTPWebhookTransport) throws -> WebhookDispatcher {
        try WebhookDispatcher(store: store, endpoints: endpoints, settings: settings, transport: transport, clock: clock.function)
    }

    func testFailedDeliveriesAreRetriedWithBackoffUntilDelivered() async throws {
        let receiver = try await Receiver.start(secret: secret, failures: 2)
        let store = try SQLiteStore.inMemory()
        try await store.migrate()
        let clock = ManualClock()
        let transport = try HTTPWebhookTransport(trustedRoots: nil)
        let endpoint = try WebhookEndpoint(name: "ops", url: receiver.url, secret: Array(secret.utf8))
        let webhooks = try dispatcher(store, [endpoint], clock, transport: transport)

        let written = try await webhooks.publish(try event())
        XCTAssertEqual(written.count, 1)
        var round = await webhooks.deliverDue()
        XCTAssertEqual(round, .init(retried: 1))
        // Not due again before the first backoff (10 s) has passed.
        clock.advance(9)
        round = await webhooks.deliverDue()
        XCTAssertEqual(round, .init())
        clock.advance(1)
        round = await webhooks.deliverDue()
        XCTAssertEqual(round, .init(retried: 1))
        // The second backoff doubles to 20 s.
        clock.advance(19)
        round = await webhooks.deliverDue()
        XCTAssertEqual(round, .init())
        clock.advance(1)
        round = await webhooks.deliverDue()
        XCTAssertEqual(round, .init(delivered: 1))

        let received = receiver.received
        XCTAssertEqual(received.map(\.status), [500, 500, 204])
        XCTAssertTrue(received.allSatisfy(\.signatureValid))
        XCTAssertEqual(Set(received.compactMap(\.delivery)), [written[0].id], "every attempt carries the same delivery id")
        XCTAssertEqual(received.map(\.event), ["job.created", "job.created", "job.created"])
        XCTAssertEqual(received.map { $0.headers.first(name: "X-ServerLPA-Timestamp") },
                       ["1700000000", "1700000010", "1700000030"].map(Optional.some))
        XCTAssertEqual(received.last?.headers.first(name: "Content-Type"), "application/json")
        XCTAssertEqual(received.last?.json["id"] as? String, "evt-1")
        XCTAssertEqual((received.last?.json["data"] as? [String: Any])?["job"] as? String, "job-1")

        let stored = try await store.webhookDeliveries(eventID: "evt-1")
        XCTAssertEqual(stored.map(\.state), [.delivered])
        XCTAssertEqual(stored.first?.attempts, 3)
        XCTAssertEqual(stored.first?.lastStatus, 204)
        XCTAssertEqual(stored.first?.finishedAt, clock.now)
        await transport.shutdown()
        await receiver.stop()
        try await store.close()
    }

    func testDeliveryIsDeadAfterTheAttemptLimit() async throws {
        let receiver = try await Receiver.start(secret: secret, failures: 100)
        let store = try SQLiteStore.inMemory()
        try await store.migrate()
        let clock = ManualClock()
        let transport = try HTTPWebhookTransport(trustedRoots: nil)
        let webhooks = try dispatcher(store, [try WebhookEndpoint(name: "ops", url: receiver.url, secret: Array(secret.utf8))], clock,
                                      transport: transport)
        try await webhooks.publish(try event(.jobFailed))
        var rounds: [WebhookDispatcher.Round] = []
        for _ in 0..<5 {
            rounds.append(await webhooks.deliverDue())
            clock.advance(settings.maximumDelaySeconds)
        }
        XCTAssertEqual(rounds, [.init(retried: 1), .init(retried: 1), .init(retried: 1), .init(dead: 1), .init()])
        XCTAssertEqual(receiver.received.count, settings.maximumAttempts)
        let stored = try await store.webhookDeliveries(eventID: "evt-1")
        XCTAssertEqual(stored.first?.state, .dead)
        XCTAssertEqual(stored.first?.attempts, 4)
        XCTAssertEqual(stored.first?.lastError, "HTTP 500")
        let counts = try await store.webhookDeliveryCounts()
        XCTAssertEqual(counts, [.dead: 1])
        await transport.shutdown()
        await receiver.stop()
        try await store.close()
    }

    func testUnreachableEndpointIsRetriedAsAFailure() async throws {
        // A port nobody listens on: bind a receiver, note its port, stop it.
        let gone = try await Receiver.start(secret: secret)
        let url = gone.url
        await gone.stop()
        let store = try SQLiteStore.inMemory()
        try await store.migrate()
        let transport = try HTTPWebhookTransport(trustedRoots: nil)
        let webhooks = try dispatcher(store, [try WebhookEndpoint(name: "ops", url: url, secret: Array(secret.utf8))], ManualClock(),
                                      transport: transport)
        try await webhooks.publish(try event())
        let round = await webhooks.deliverDue()
        XCTAssertEqual(round, .init(retried: 1))
        let stored = try await store.webhookDeliveries(eventID: "evt-1")
        XCTAssertEqual(stored.first?.state, .pending)
        XCTAssertNil(stored.first?.lastStatus)
        XCTAssertTrue(stored.first?.lastError?.contains("WEBHOOK_TRANSPORT") == true, "\(stored)")
        await transport.shutdown()
        try await store.close()
    }

    func testEndpointsGetOnlyTheEventsTheyChose() async throws {
        let confirmedOnly = try await Receiver.start(secret: secret)
        let allJobs = try await Receiver.start(secret: secret)
        let disabled = try await Receiver.start(secret: secret)
        let store = try SQLiteStore.inMemory()
        try await store.migrate()
        let transport = try HTTPWebhookTransport(trustedRoots: nil)
        let key = Array(secret.utf8)
        let webhooks = try dispatcher(store, [
            try WebhookEndpoint(name: "confirmed", url: confirmedOnly.url, secret: key, events: ["job.confirmed"]),
            try WebhookEndpoint(name: "jobs", url: allJobs.url, secret: key, events: ["job.*"]),
            try WebhookEndpoint(name: "off", url: disabled.url, secret: key, events: ["*"], enabled: false),
        ], ManualClock(), transport: transport)

        let created = try await webhooks.publish(try event(.jobCreated, id: "evt-created"))
        let confirmed = try await webhooks.publish(try event(.jobConfirmed, id: "evt-confirmed"))
        let campaign = try await webhooks.publish(try event(.campaignStarted, id: "evt-campaign"))
        XCTAssertEqual(created.map(\.endpoint), ["jobs"])
        XCTAssertEqual(confirmed.map(\.endpoint), ["confirmed", "jobs"])
        XCTAssertEqual(campaign, [])
        let round = await webhooks.deliverDue()
        XCTAssertEqual(round, .init(delivered: 3))
        XCTAssertEqual(confirmedOnly.received.map(\.event), ["job.confirmed"])
        XCTAssertEqual(Set(allJobs.received.compactMap(\.event)), ["job.created", "job.confirmed"])
        XCTAssertEqual(disabled.received.count, 0)
        await transport.shutdown()
        for receiver in [confirmedOnly, allJobs, disabled] { await receiver.stop() }
        try await store.close()
    }

    func testANewDispatcherOnTheSameStoreDeliversWhatTheOldOneLeft() async throws {
        let receiver = try await Receiver.start(secret: secret, failures: 1)
        let database = try TemporaryStore()
        defer { database.remove() }
        let clock = ManualClock()
        let key = Array(secret.utf8)

        // The first core publishes two events; one attempt fails, the other is never made (the core stops).
        let firstStore = try await database.open()
        let firstTransport = try HTTPWebhookTransport(trustedRoots: nil)
        let first = try dispatcher(firstStore, [try WebhookEndpoint(name: "ops", url: receiver.url, secret: key)], clock, transport: firstTransport)
        try await first.publish(try event(id: "evt-1"))
        let round = await first.deliverDue()
        XCTAssertEqual(round, .init(retried: 1))
        try await first.publish(try event(.jobConfirmed, id: "evt-2"))
        await firstTransport.shutdown()
        try await firstStore.close()

        // A new core on the same database, with an endpoint the first did not have.
        let secondStore = try await database.open()
        let secondTransport = try HTTPWebhookTransport(trustedRoots: nil)
        let second = try dispatcher(secondStore, [try WebhookEndpoint(name: "ops", url: receiver.url, secret: key)], clock,
                                    transport: secondTransport)
        var afterRestart = await second.deliverDue()
        XCTAssertEqual(afterRestart, .init(delivered: 1), "evt-2 is due at once")
        clock.advance(settings.baseDelaySeconds)
        afterRestart = await second.deliverDue()
        XCTAssertEqual(afterRestart, .init(delivered: 1), "evt-1 after its backoff")
        XCTAssertEqual(receiver.received.map(\.status), [500, 204, 204])
        XCTAssertEqual(Set(receiver.received.filter { $0.status == 204 }.compactMap(\.event)), ["job.created", "job.confirmed"])
        let counts = try await secondStore.webhookDeliveryCounts()
        XCTAssertEqual(counts, [.delivered: 2])

        // Pending deliveries of an endpoint the configuration no longer has are given up.
        try await second.publish(try event(id: "evt-3"))
        let third = try dispatcher(secondStore, [], clock, transport: secondTransport)
        let orphaned = await third.deliverDue()
        XCTAssertEqual(orphaned, .init(dead: 1))
        await secondTransport.shutdown()
        await receiver.stop()
        try await secondStore.close()
    }

    func testJobChangesArePublishedAndRunDeliversThemWithoutPolling() async throws {
        let receiver = try await Receiver.start(secret: secret)
        let store = try SQLiteStore.inMemory()
        try await store.migrate()
        let transport = try HTTPWebhookTransport(trustedRoots: nil)
        let webhooks = try dispatcher(store, [try WebhookEndpoint(name: "ops", url: receiver.url, secret: Array(secret.utf8))], ManualClock(),
                                      transport: transport)
        // A poll interval far longer than the test: only publish can wake the loop.
        let loop = Task { await webhooks.run(pollInterval: .seconds(3600)) }
        var job = ProvisioningJob(id: "job-7", terminalID: "T-7", eid: "89049032000000000000000000000007", smdpAddress: "smdp.example",
                                  profileType: "iot", matchingID: nil, createdAt: 1_700_000_000, updatedAt: 1_700_000_000)
        await webhooks.jobChanged(job, from: nil)
        job.state = .readingEUICC
        await webhooks.jobChanged(job, from: .queued)
        var arrived = 0
        for await _ in receiver.arrivals {
            arrived += 1
            if arrived == 2 { break }
        }
        loop.cancel()
        await loop.value
        XCTAssertEqual(Set(receiver.received.compactMap(\.event)), ["job.created", "job.state_changed"])
        let changed = receiver.received.first { $0.event == "job.state_changed" }
        XCTAssertEqual((changed?.json["data"] as? [String: Any])?["previousState"] as? String, "queued")
        XCTAssertEqual((changed?.json["data"] as? [String: Any])?["terminalID"] as? String, "T-7")
        await transport.shutdown()
        await receiver.stop()
        try await store.close()
    }
}
