package dev.offload.tunnel;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.event.Logging;
import akka.http.impl.engine.ws.FrameEvent;
import akka.http.impl.engine.ws.FrameEvent$;
import akka.http.impl.engine.ws.FrameStart;
import akka.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import akka.http.impl.engine.ws.WebSocket$;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.ws.Message;
import akka.http.javadsl.model.ws.WebSocketUpgrade;
import akka.http.scaladsl.settings.ServerSettings;
import akka.stream.FlowShape;
import akka.stream.Graph;
import akka.stream.javadsl.BidiFlow;
import akka.stream.javadsl.Flow;
import scala.Option;

/**
 * Accepts a WebSocket upgrade whose close code the tunnel chooses. akka-http's public API closes
 * with 1000 when the handler completes and 1011 when it fails, but clients of the tunnel tell
 * "retry later" (1013) from "give up" (1008) and "too big" (1009) by the code. So the handler runs
 * inside akka-http's own message stack and only the one close frame that stack sends is rewritten
 * on its way out: message assembly, UTF-8 checks, pings and the close handshake stay akka-http's.
 * This leans on akka-http internals ({@code impl.engine.ws}), which are stable across 10.5.x.
 */
final class TunnelSocket {

  static final int NORMAL = 1000;
  static final int GOING_AWAY = 1001;
  static final int POLICY_VIOLATION = 1008;
  static final int TOO_BIG = 1009;
  static final int INTERNAL_ERROR = 1011;
  static final int TRY_AGAIN_LATER = 1013;

  private static final byte CLOSE_OPCODE = 8;

  /** The code the server's close frame will carry; the bridge sets it before it completes. */
  static final class Closing {
    private volatile int code = NORMAL;
    private volatile String reason = "";

    void with(int code, String reason) {
      this.code = code;
      this.reason = reason;
    }
  }

  private TunnelSocket() {}

  static HttpResponse accept(
      ActorSystem<?> system, WebSocketUpgrade upgrade, Flow<Message, Message, ?> handler,
      Closing closing) {
    var stack = WebSocket$.MODULE$.stack(
        true,
        ServerSettings.apply(system.settings().config()).websocketSettings(),
        WebSocket$.MODULE$.stack$default$3(),
        Logging.getLogger(Adapter.toClassic(system), TunnelSocket.class));
    Flow<akka.http.scaladsl.model.ws.Message, akka.http.scaladsl.model.ws.Message, ?> scalaMessages =
        Flow.<akka.http.scaladsl.model.ws.Message>create()
            .map(Message::adapt)
            .via(handler)
            .map(Message::asScala);
    BidiFlow<FrameEvent, FrameEvent, FrameEvent, FrameEvent, NotUsed> closeCode =
        BidiFlow.fromFlows(
            Flow.<FrameEvent>create(), Flow.<FrameEvent>create().map(f -> rewritten(f, closing)));
    var frames = closeCode.asScala().join(stack.join(scalaMessages.asScala()));
    @SuppressWarnings({"unchecked", "rawtypes"})
    Graph<FlowShape<FrameEvent, FrameEvent>, Object> graph = (Graph) frames;
    return ((UpgradeToWebSocketLowLevel) upgrade).handleFrames(graph, Option.empty());
  }

  private static FrameEvent rewritten(FrameEvent frame, Closing closing) {
    if (frame instanceof FrameStart start
        && start.header().opcode().code() == CLOSE_OPCODE
        && closing.code != NORMAL) {
      return FrameEvent$.MODULE$.closeFrame(closing.code, closing.reason, Option.empty());
    }
    return frame;
  }
}
