// libmicrohttpd 0.9.75 for Swift: fixed-arity wrappers for the variadic functions.
#ifndef UIQ_CMICROHTTPD_SHIM_H
#define UIQ_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <microhttpd.h>

/// Receives libmicrohttpd's own error messages: the format (to recognise a message) and the formatted text.
typedef void (*uiq_mhd_log_fn)(void *context, const char *format, const char *message);

/// Everything UrgencyIQ configures on a daemon.
typedef struct uiq_mhd_config {
    unsigned int flags;
    uint16_t port;
    const struct sockaddr *address;  /// the interface to bind, or NULL for all
    unsigned int threads;            /// internal thread pool size
    unsigned int connection_limit;
    unsigned int connection_timeout; /// seconds of inactivity before a connection is dropped
    size_t connection_memory_limit;  /// per-connection buffer for headers and reads
    unsigned int per_ip_connection_limit;
    unsigned int listen_backlog;
    int strictness;                  /// MHD_OPTION_STRICT_FOR_CLIENT
    unsigned int reuse_address;      /// 1: SO_REUSEPORT (several processes share the port), 0: the default
                                     /// (SO_REUSEADDR: a port only TIME-WAIT connections hold can be bound again,
                                     /// one another server listens on cannot)
    MHD_AccessHandlerCallback handler;
    void *handler_context;
    MHD_RequestCompletedCallback completed;
    void *completed_context;
    void *(*request_line)(void *context, const char *uri, struct MHD_Connection *connection);
    void *request_line_context;
    MHD_NotifyConnectionCallback connection_event;
    void *connection_event_context;
    uiq_mhd_log_fn log;
    void *log_context;
} uiq_mhd_config;

/// Formats one of libmicrohttpd's messages and hands it on (a va_list does not cross into Swift well).
static void uiq_mhd_log_trampoline(void *context, const char *format, va_list arguments) {
    const uiq_mhd_config *config = (const uiq_mhd_config *)context;
    char message[512];
    vsnprintf(message, sizeof message, format, arguments);
    config->log(config->log_context, format, message);
}

/// MHD_start_daemon with the options above. `config` must outlive the daemon (its logger reads it).
static inline struct MHD_Daemon *uiq_mhd_start(const uiq_mhd_config *c) {
    return MHD_start_daemon(c->flags, c->port, NULL, NULL, c->handler, c->handler_context,
                            MHD_OPTION_THREAD_POOL_SIZE, c->threads,
                            MHD_OPTION_CONNECTION_LIMIT, c->connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->connection_memory_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_ip_connection_limit,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, c->listen_backlog,
                            // 0.9.75 reads any value given as "reuse" (1) or "never reuse" (-1, which drops the
                            // SO_REUSEADDR a restart needs while old connections are in TIME-WAIT): the option is
                            // only given for sharing; otherwise the connection limit again, which changes nothing.
                            c->reuse_address ? MHD_OPTION_LISTENING_ADDRESS_REUSE : MHD_OPTION_CONNECTION_LIMIT,
                            c->reuse_address ? 1u : c->connection_limit,
                            MHD_OPTION_STRICT_FOR_CLIENT, c->strictness,
                            MHD_OPTION_NOTIFY_COMPLETED, c->completed, c->completed_context,
                            MHD_OPTION_URI_LOG_CALLBACK, c->request_line, c->request_line_context,
                            MHD_OPTION_NOTIFY_CONNECTION, c->connection_event, c->connection_event_context,
                            MHD_OPTION_EXTERNAL_LOGGER, uiq_mhd_log_trampoline, (void *)c,
                            c->address ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, c->address,
                            MHD_OPTION_END);
}

/// The port the daemon listens on (useful after binding port 0).
static inline uint16_t uiq_mhd_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

/// Connections open right now.
static inline unsigned int uiq_mhd_connections(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/// The client's address, or NULL.
static inline const struct sockaddr *uiq_mhd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}

/// The connection's socket, or -1.
static inline int uiq_mhd_socket(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

/// What the connection-started callback stored for the connection, or NULL.
static inline void *uiq_mhd_socket_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/// Whether the whole request head of the connection's current request has been received.
static inline int uiq_mhd_head_received(struct MHD_Connection *connection) {
    return MHD_get_connection_info(connection, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE) != NULL;
}

/// The status of the response queued on the connection (by us or by libmicrohttpd itself), or 0.
static inline unsigned int uiq_mhd_status(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_HTTP_STATUS);
    return info ? info->http_status : 0;
}

/// A response owning a copy of `size` bytes.
static inline struct MHD_Response *uiq_mhd_response_copying(size_t size, const void *bytes) {
    return MHD_create_response_from_buffer(size, (void *)bytes, MHD_RESPMEM_MUST_COPY);
}

static inline unsigned int uiq_mhd_flag_epoll(void) { return MHD_USE_EPOLL_INTERNAL_THREAD; }
static inline unsigned int uiq_mhd_flag_suspend_resume(void) { return MHD_ALLOW_SUSPEND_RESUME; }
static inline unsigned int uiq_mhd_flag_error_log(void) { return MHD_USE_ERROR_LOG; }
static inline unsigned int uiq_mhd_flag_ipv6(void) { return MHD_USE_IPv6; }
#endif
