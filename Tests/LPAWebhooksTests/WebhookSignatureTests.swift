import LPACore
import LPADomain
import LPAWebhooks
import XCTest

/// The signature, the event body and the endpoint rules: plain values, no sockets.
final class WebhookSignatureTests: XCTestCase {
    private let secret = Array("whsec-test-secret".utf8)
    private let body = Array(#"{"id":"evt-1"}"#.utf8)

    /// Computed once with `printf '1700000000.{"id":"evt-1"}' | openssl dgst -sha256 -hmac "whsec-test-secret"`.
    func testSignatureKnownAnswer() throws {
        XCTAssertEqual(try WebhookSignature.header(body: body, timestamp: 1_700_000_000, secret: secret),
                       "sha256=00669c487bc6c3fbd200ad6bac108c4fd618f6a9f1523692bdf4162446f73213")
    }

    func testVerificationRefusesAnyChange() throws {
        let header = try WebhookSignature.header(body: body, timestamp: 1_700_000_000, secret: secret)
        XCTAssertTrue(WebhookSignature.isValid(header: header, body: body, timestamp: "1700000000", secret: secret))
        XCTAssertFalse(WebhookSignature.isValid(header: header, body: body, timestamp: "1700000001", secret: secret))
        XCTAssertFalse(WebhookSignature.isValid(header: header, body: body + [0x20], timestamp: "1700000000", secret: secret))
        XCTAssertFalse(WebhookSignature.isValid(header: header, body: body, timestamp: "1700000000", secret: secret + [0x21]))
        XCTAssertFalse(WebhookSignature.isValid(header: String(header.dropFirst(7)), body: body, timestamp: "1700000000", secret: secret))
        XCTAssertFalse(WebhookSignature.isValid(header: header.uppercased(), body: body, timestamp: "1700000000", secret: secret))
        XCTAssertFalse(WebhookSignature.isValid(header: "", body: body, timestamp: "1700000000", secret: secret))
    }

    func testEventBodyIsAnEnvelopeAroundSortedData() throws {
        struct Data: Encodable, Sendable { var zeta = 1; var alpha = "a/b" }
        let event = try WebhookEvent(id: "evt-\"1\"", type: .jobCreated, occurredAt: 42, payload: Data())
        XCTAssertEqual(event.body, #"{"data":{"alpha":"a/b","zeta":1},"id":"evt-\"1\"","occurredAt":42,"type":"job.created"}"#)
        XCTAssertThrowsError(try WebhookEvent(type: .jobCreated, occurredAt: 1, payload: [1, 2])) { error in
            XCTAssertTrue("\(error)".contains("WEBHOOK_INVALID_EVENT"), "\(error)")
        }
    }

    func testJobChangesMapToEventTypes() throws {
        XCTAssertEqual(WebhookEvent.type(ofJobChangeTo: .queued, from: nil), .jobCreated)
        XCTAssertEqual(WebhookEvent.type(ofJobChangeTo: .authenticating, from: .readingEUICC), .jobStateChanged)
        XCTAssertEqual(WebhookEvent.type(ofJobChangeTo: .confirmed, from: .awaitingReturn), .jobConfirmed)
        XCTAssertEqual(WebhookEvent.type(ofJobChangeTo: .failed, from: .loading), .jobFailed)
        XCTAssertEqual(WebhookEvent.type(ofJobChangeTo: .returnTimedOut, from: .awaitingReturn), .jobFailed)
        XCTAssertEqual(WebhookEvent.type(ofJobChangeTo: .cancelled, from: .queued), .jobCancelled)

        var job = ProvisioningJob(id: "job-1", terminalID: "T-1", eid: "89049032000000000000000000000001", smdpAddress: "smdp.example",
                                  profileType: "iot", matchingID: "SECRET-MATCHING-ID", previousICCID: nil, createdAt: 10, updatedAt: 10)
        job.state = .failed
        job.updatedAt = 20
        job.errorCode = "es9.failed"
        let event = try WebhookEvent.job(job, from: .loading)
        XCTAssertEqual(event.type, .jobFailed)
        XCTAssertEqual(event.occurredAt, 20)
        XCTAssertFalse(event.body.contains("SECRET-MATCHING-ID"), "the matching ID must not leave the core")
        let data = try XCTUnwrap((try JSONSerialization.jsonObject(with: Foundation.Data(event.body.utf8)) as? [String: Any])?["data"] as? [String: Any])
        XCTAssertEqual(data["id"] as? String, "job-1")
        XCTAssertEqual(data["state"] as? String, "failed")
        XCTAssertEqual(data["previousState"] as? String, "loading")
        XCTAssertEqual(data["errorCode"] as? String, "es9.failed")
    }

    func testEndpointRules() throws {
        let key = Array("0123456789abcdef".utf8)
        XCTAssertNoThrow(try WebhookEndpoint(name: "a", url: "https://hooks.example.com/x", secret: key))
        XCTAssertNoThrow(try WebhookEndpoint(name: "b", url: "http://127.0.0.1:9000/x", secret: key))
        for url in ["http://localhost/x", "http://10.0.0.1/x", "ftp://127.0.0.1/x", "hooks.example.com", ""] {
            XCTAssertThrowsError(try WebhookEndpoint(name: "c", url: url, secret: key), url)
        }
        XCTAssertThrowsError(try WebhookEndpoint(name: "d", url: "https://h/x", secret: Array("short".utf8)))
        XCTAssertThrowsError(try WebhookEndpoint(name: "e", url: "https://h/x", secret: key, events: ["job.create"]))
        let filtered = try WebhookEndpoint(name: "f", url: "https://h/x", secret: key, events: ["job.confirmed", "campaign.*"])
        XCTAssertTrue(filtered.wants(.jobConfirmed))
        XCTAssertTrue(filtered.wants(.campaignPaused))
        XCTAssertFalse(filtered.wants(.jobCreated))
        XCTAssertFalse("\(filtered)".contains("0123456789abcdef"), "the description must not show the secret")
    }

    func testBackoffDoublesUpToTheMaximum() {
        let settings = WebhookDispatcher.Settings(baseDelaySeconds: 5, maximumDelaySeconds: 60)
        XCTAssertEqual((1...6).map { settings.delay(afterAttempt: $0) }, [5, 10, 20, 40, 60, 60])
        XCTAssertEqual(settings.delay(afterAttempt: 500), 60)
    }

    // MARK: Configuration

    func testWebhooksSectionDecodesValidatesAndRedacts() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("webhook-secret-\(UUID().uuidString)")
        try "  from-a-file-0123456789\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let configuration = try CoreConfiguration.parse(yaml: """
            webhooks:
              trustedRoots: pki/webhook-roots.pem
              endpoints:
                - name: ops
                  url: https://hooks.example.com/serverlpa
                  secret: inline-secret-0123456789
                  events: [job.confirmed, job.failed]
                - url: http://127.0.0.1:9000/local
                  secretFile: \(file.path)
              retry: {baseDelaySeconds: 2, maximumDelaySeconds: 30, maximumAttempts: 4}
            """)
        try configuration.validate()
        let webhooks = try XCTUnwrap(configuration.webhooks)
        XCTAssertEqual(webhooks.endpoints.map(\.name), ["ops", "http://127.0.0.1:9000/local"])
        XCTAssertEqual(webhooks.retry, .init(baseDelaySeconds: 2, maximumDelaySeconds: 30, maximumAttempts: 4))
        XCTAssertEqual(try WebhookEndpoint(webhooks.endpoints[1]).secret, Array("from-a-file-0123456789".utf8))
        XCTAssertFalse(try configuration.rendered(json: true).contains("inline-secret"))
        XCTAssertNil(try CoreConfiguration.parse(yaml: "store: x.db").webhooks)

        XCTAssertThrowsError(try CoreConfiguration.parse(yaml: "webhooks: {endpoint: []}"))
        XCTAssertThrowsError(try CoreConfiguration.parse(yaml: "webhooks: {endpoints: [{url: 'https://h/', secret: x, colour: red}]}"))
        let refused = [
            "webhooks: {endpoints: [{url: 'http://example.com/', secret: 0123456789abcdef0}]}",
            "webhooks: {trustedRoots: r.pem, endpoints: [{url: 'https://h/', secret: short}]}",
            "webhooks: {trustedRoots: r.pem, endpoints: [{url: 'https://h/'}]}",
            "webhooks: {endpoints: [{url: 'https://h/', secret: 0123456789abcdef0}]}",
            "webhooks: {trustedRoots: r.pem, endpoints: [{url: 'https://h/', secret: 0123456789abcdef0, events: [job.done]}]}",
            "webhooks: {retry: {maximumAttempts: 0}}",
        ]
        for yaml in refused {
            XCTAssertThrowsError(try CoreConfiguration.parse(yaml: yaml).validate(), yaml)
        }
    }
}

final class CampaignWebhookEventTests: XCTestCase {
    func testCampaignMovesMapToEventNames() throws {
        var campaign = Campaign(id: "c1", name: "roll-out", selection: .init(), createdAt: 1, updatedAt: 2)
        func type(_ from: Campaign.State?, _ to: Campaign.State) throws -> String? {
            campaign.state = to
            return try WebhookEvent.campaign(campaign, from: from)?.type.rawValue
        }
        XCTAssertEqual(try type(nil, .running), "campaign.started")
        XCTAssertEqual(try type(.draft, .running), "campaign.started")
        XCTAssertEqual(try type(.running, .paused), "campaign.paused")
        XCTAssertEqual(try type(.paused, .running), "campaign.resumed")
        XCTAssertEqual(try type(.running, .completed), "campaign.completed")
        XCTAssertEqual(try type(.paused, .canceled), "campaign.cancelled")
        XCTAssertNil(try type(nil, .draft))
        campaign.state = .paused
        campaign.pauseReason = .operatorRequest
        let event = try XCTUnwrap(try WebhookEvent.campaign(campaign, from: .running))
        XCTAssertTrue(event.body.contains("\"campaignID\":\"c1\""), event.body)
        XCTAssertTrue(event.body.contains("\"pauseReason\":\"operator\""), event.body)
    }
}
