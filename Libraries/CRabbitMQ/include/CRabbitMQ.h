#ifndef REFRAME_CRABBITMQ_H
#define REFRAME_CRABBITMQ_H
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_framing.h>
#include <stdint.h>
#include <stddef.h>

/// amqp_login is variadic and does not import into Swift; this fixes the PLAIN mechanism.
amqp_rpc_reply_t reframe_amqp_login(amqp_connection_state_t conn, const char *vhost, int channel_max,
                                    int frame_max, int heartbeat, const char *user, const char *password);

/// Writes a one-line description of a failed RPC reply (library error or server close) into buf.
void reframe_amqp_describe_reply(amqp_rpc_reply_t reply, char *buf, size_t buflen);

/// Declares a durable queue; quorum queues get x-queue-type, x-delivery-limit and dead-lettering.
/// dlx may be NULL (no dead-letter exchange); delivery_limit is x-delivery-limit (returns allowed
/// before dead-lettering), < 0 leaves the broker default.
amqp_rpc_reply_t reframe_amqp_declare_queue(amqp_connection_state_t conn, amqp_channel_t channel,
                                            const char *name, int quorum, const char *dlx, int delivery_limit);

/// Publishes a persistent JSON message with `header_count` string headers (keys[i] = values[i]).
int reframe_amqp_publish(amqp_connection_state_t conn, amqp_channel_t channel, const char *exchange,
                         const char *routing_key, const void *body, size_t body_len, int mandatory,
                         const char *const *header_keys, const char *const *header_values, int header_count);

/// How many headers a delivered message carries.
int reframe_amqp_header_count(const amqp_basic_properties_t *props);

/// Header `index`: its name into key_buf and, when it is a string, its value into value_buf; returns
/// the value's length, or -1 when the value is not a string (names and values are truncated to fit).
long reframe_amqp_header_at(const amqp_basic_properties_t *props, int index, char *key_buf, size_t key_len,
                            char *value_buf, size_t value_len);

/// Reads the x-death "count" of a delivered message (quorum queues also set x-delivery-count); -1 if absent.
long reframe_amqp_delivery_count(const amqp_basic_properties_t *props);

/// Name-taking RPCs: the C strings must live for the whole call, which Swift's temporary
/// bridging does not guarantee once wrapped in amqp_bytes_t, so they are built here.
amqp_rpc_reply_t reframe_amqp_declare_exchange(amqp_connection_state_t conn, amqp_channel_t channel, const char *name,
                                               const char *type);
amqp_rpc_reply_t reframe_amqp_bind(amqp_connection_state_t conn, amqp_channel_t channel, const char *queue,
                                   const char *exchange, const char *routing_key);
amqp_rpc_reply_t reframe_amqp_consume(amqp_connection_state_t conn, amqp_channel_t channel, const char *queue,
                                      const char *tag);
/// Purges a queue; *count receives the number of messages removed.
amqp_rpc_reply_t reframe_amqp_purge(amqp_connection_state_t conn, amqp_channel_t channel, const char *queue,
                                    uint32_t *count);
amqp_rpc_reply_t reframe_amqp_get(amqp_connection_state_t conn, amqp_channel_t channel, const char *queue);

#endif
