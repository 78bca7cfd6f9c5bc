package dev.offload.api;

import akka.actor.typed.ActorRef;
import dev.offload.billing.Audit;
import dev.offload.billing.UsageView;
import dev.offload.org.Organisations;
import dev.offload.runner.RunnerPool;
import dev.offload.session.SessionDiagnosis;
import dev.offload.session.SessionUpdates;
import dev.offload.session.Sessions;
import dev.offload.tunnel.TunnelRoutes;
import dev.offload.webhook.Webhooks;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/** What the routes translate to: one capability each; the rules are theirs, not the routes'. */
public record ApiServices(
    Organisations organisations,
    Sessions sessions,
    SessionUpdates updates,
    SessionDiagnosis diagnosis,
    Audit audit,
    UsageView usage,
    Webhooks webhooks,
    TunnelRoutes tunnels,
    ActorRef<RunnerPool.Command> runnerPool,
    DataSource dataSource,
    Executor blocking) {}
