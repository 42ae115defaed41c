import LPACore
import LPADomain
import LPATLS
import Logging

/// The webhook service of one core: a ``WebhookDispatcher`` on the core's store and a task running it until
/// ``stop()``. Started by the core through ``starter()`` when its configuration has a `webhooks` section.
public final class WebhookService: CoreWebhookService, CampaignEventSink {
    public let dispatcher: WebhookDispatcher
    private let transport: any WebhookTransport
    private let task: Task<Void, Never>

    public init(dispatcher: WebhookDispatcher, transport: any WebhookTransport, pollInterval: Duration) {
        self.dispatcher = dispatcher
        self.transport = transport
        task = Task { await dispatcher.run(pollInterval: pollInterval) }
    }

    /// The service a core configuration describes: endpoints (secret files read now), retry settings, trust
    /// roots for `https://` endpoints.
    ///
    /// - Throws: ``WebhookError`` for an endpoint that cannot be used or roots that cannot be loaded.
    public static func make(_ context: CoreWebhookContext) throws -> WebhookService {
        let settings = context.settings
        let endpoints = try settings.endpoints.map(WebhookEndpoint.init)
        let transport = try HTTPWebhookTransport(trustedRoots: settings.trustedRoots.isEmpty ? nil : .file(settings.trustedRoots))
        let dispatcher = try WebhookDispatcher(
            store: context.store, endpoints: endpoints,
            settings: WebhookDispatcher.Settings(
                baseDelaySeconds: Int64(settings.retry.baseDelaySeconds), maximumDelaySeconds: Int64(settings.retry.maximumDelaySeconds),
                maximumAttempts: settings.retry.maximumAttempts, timeoutSeconds: Int64(settings.timeoutSeconds)),
            transport: transport, clock: context.clock, logger: context.logger)
        return WebhookService(dispatcher: dispatcher, transport: transport, pollInterval: .seconds(settings.pollSeconds))
    }

    /// What `lpa-core` hands to ``CoreServer`` to start webhooks.
    public static func starter() -> CoreWebhookStarter {
        { context in try make(context) }
    }

    public func jobChanged(_ job: ProvisioningJob, from previous: ProvisioningJob.State?) async {
        await dispatcher.jobChanged(job, from: previous)
    }

    public func campaignChanged(_ campaign: Campaign, from previous: Campaign.State?) async {
        await dispatcher.campaignChanged(campaign, from: previous)
    }

    /// Stops delivering (an attempt in flight is cancelled and retried later) and closes connections.
    public func stop() async {
        task.cancel()
        await task.value
        await transport.shutdown()
    }
}
