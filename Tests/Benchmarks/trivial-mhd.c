// The reference for `make bench-http`: libmicrohttpd configured the way `urgencyiq serve` configures it (epoll
// on an internal thread pool of one thread per core, suspend/resume allowed, the same connection limits and
// strictness), whose handler reads the whole body and answers a constant JSON object. Our figures are printed
// as a share of this server's, measured in the same run: what libmicrohttpd and the loopback can do here.
//
//   cc -O2 -o trivial-mhd trivial-mhd.c $(pkg-config --cflags --libs libmicrohttpd)
//   ./trivial-mhd PORT [THREADS]
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char answer[] = "{\"status\":\"ok\"}\n";

/// Reads the body (as our server does, chunk by chunk into nothing) and answers the constant.
static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **state) {
    (void)cls; (void)url; (void)method; (void)version;
    if (*state == NULL) {  // headers only: ask for the body
        static int started;
        *state = &started;
        return MHD_YES;
    }
    if (*upload_size > 0) {  // a chunk of the body: consumed
        volatile char sink = upload_data[*upload_size - 1];
        (void)sink;
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *response = MHD_create_response_from_buffer(sizeof answer - 1, (void *)answer, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Content-Type", "application/json");
    enum MHD_Result result = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: trivial-mhd PORT [THREADS]\n");
        return 2;
    }
    unsigned int threads = argc > 2 ? (unsigned int)atoi(argv[2]) : (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, (uint16_t)atoi(argv[1]), NULL, NULL,
        handle, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_STRICT_FOR_CLIENT, -1,
        MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "trivial-mhd: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, NULL);
    int received;
    sigwait(&signals, &received);
    MHD_stop_daemon(daemon);
    return 0;
}
