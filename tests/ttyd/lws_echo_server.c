/*
 * A WebSocket echo server that leaves libwebsockets' idle policy at its default.
 *
 * Neither the context nor the vhost gets info.retry_and_idle_policy, so every
 * connection uses the context's default_retry from lib/core/context.c:
 * PING after secs_since_valid_ping and hangup at secs_since_valid_hangup seconds
 * without a PONG. Upstream 4.3.5 says 300 s / 310 s; with
 * //third_party/libwebsockets:ping_hangup.patch they are 20 s / 30 s, which
 * tests/ttyd/test_lws_patch.py measures to prove the patch is in the library
 * that was linked.
 *
 * Usage: lws_echo_server
 *   Listens on 127.0.0.1, on a port the kernel chooses, and reports it on stderr
 *   as "Listening on port: N" (the words ttyd uses). Subprotocol "echo": each
 *   message is sent back as received (TEXT or BINARY). Stops on SIGTERM/SIGINT.
 */

#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest message echoed; longer ones close the connection (1009). */
#define MAX_MESSAGE 4096

struct per_session {
  unsigned char buf[LWS_PRE + MAX_MESSAGE];
  size_t len;
  int binary;
  int pending; /* a complete message waits to be echoed */
};

static volatile sig_atomic_t interrupted;
static struct lws_context *context;

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len) {
  struct per_session *pss = (struct per_session *)user;

  switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
      pss->len = 0;
      pss->pending = 0;
      break;

    case LWS_CALLBACK_RECEIVE:
      if (pss->pending) {
        /* One message in flight per connection: a test client waits for each echo. */
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
        return -1;
      }
      if (lws_is_first_fragment(wsi)) {
        pss->len = 0;
        pss->binary = lws_frame_is_binary(wsi);
      }
      if (pss->len + len > MAX_MESSAGE) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        return -1;
      }
      memcpy(pss->buf + LWS_PRE + pss->len, in, len);
      pss->len += len;
      if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
        pss->pending = 1;
        lws_callback_on_writable(wsi);
      }
      break;

    case LWS_CALLBACK_SERVER_WRITEABLE:
      if (!pss->pending) break;
      if (lws_write(wsi, pss->buf + LWS_PRE, pss->len, pss->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) <
          (int)pss->len) {
        lwsl_err("echo write failed\n");
        return -1;
      }
      pss->pending = 0;
      break;

    default:
      break;
  }
  return 0;
}

static const struct lws_protocols protocols[] = {
    {"echo", callback_echo, sizeof(struct per_session), MAX_MESSAGE, 0, NULL, 0},
    LWS_PROTOCOL_LIST_TERM,
};

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
  if (context) lws_cancel_service(context);
}

int main(int argc, char **argv) {
  struct lws_context_creation_info info;
  struct lws_vhost *vhost;
  (void)argv;

  if (argc != 1) {
    fprintf(stderr, "usage: lws_echo_server (no arguments; listens on 127.0.0.1, port chosen by the kernel)\n");
    return 2;
  }
  lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

  memset(&info, 0, sizeof(info));
  info.port = 0; /* the kernel picks a free port; reported below */
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.gid = -1;
  info.uid = -1;
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
  /* Deliberately no info.retry_and_idle_policy: that is what is under test. */

  context = lws_create_context(&info);
  if (!context) {
    fprintf(stderr, "lws_echo_server: lws_create_context failed\n");
    return 1;
  }
  vhost = lws_create_vhost(context, &info);
  if (!vhost) {
    fprintf(stderr, "lws_echo_server: lws_create_vhost failed\n");
    lws_context_destroy(context);
    return 1;
  }

  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);

  fprintf(stderr, "lws_echo_server: libwebsockets %s\n", lws_get_library_version());
  fprintf(stderr, "Listening on port: %d\n", lws_get_vhost_listen_port(vhost));
  fflush(stderr);

  while (!interrupted && lws_service(context, 0) >= 0) {
  }

  lws_context_destroy(context);
  return 0;
}
