#include "CRabbitMQ.h"
#include <stdio.h>
#include <string.h>

amqp_rpc_reply_t reframe_amqp_login(amqp_connection_state_t conn, const char *vhost, int channel_max,
                                    int frame_max, int heartbeat, const char *user, const char *password) {
  return amqp_login(conn, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

void reframe_amqp_describe_reply(amqp_rpc_reply_t reply, char *buf, size_t buflen) {
  switch (reply.reply_type) {
  case AMQP_RESPONSE_NORMAL:
    snprintf(buf, buflen, "ok");
    return;
  case AMQP_RESPONSE_NONE:
    snprintf(buf, buflen, "missing RPC reply");
    return;
  case AMQP_RESPONSE_LIBRARY_EXCEPTION:
    snprintf(buf, buflen, "%s", amqp_error_string2(reply.library_error));
    return;
  case AMQP_RESPONSE_SERVER_EXCEPTION:
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      amqp_connection_close_t *m = (amqp_connection_close_t *)reply.reply.decoded;
      snprintf(buf, buflen, "connection closed by broker: %u %.*s", m->reply_code, (int)m->reply_text.len,
               (char *)m->reply_text.bytes);
    } else if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      amqp_channel_close_t *m = (amqp_channel_close_t *)reply.reply.decoded;
      snprintf(buf, buflen, "channel closed by broker: %u %.*s", m->reply_code, (int)m->reply_text.len,
               (char *)m->reply_text.bytes);
    } else {
      snprintf(buf, buflen, "unexpected broker method 0x%08X", reply.reply.id);
    }
    return;
  }
  snprintf(buf, buflen, "unknown reply type %d", reply.reply_type);
}

amqp_rpc_reply_t reframe_amqp_declare_queue(amqp_connection_state_t conn, amqp_channel_t channel,
                                            const char *name, int quorum, const char *dlx, int delivery_limit) {
  amqp_table_entry_t entries[3];
  int n = 0;
  if (quorum) {
    entries[n].key = amqp_cstring_bytes("x-queue-type");
    entries[n].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[n].value.value.bytes = amqp_cstring_bytes("quorum");
    n++;
    if (delivery_limit >= 0) {
      entries[n].key = amqp_cstring_bytes("x-delivery-limit");
      entries[n].value.kind = AMQP_FIELD_KIND_I64;
      entries[n].value.value.i64 = delivery_limit;
      n++;
    }
  }
  if (dlx) {
    entries[n].key = amqp_cstring_bytes("x-dead-letter-exchange");
    entries[n].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[n].value.value.bytes = amqp_cstring_bytes(dlx);
    n++;
  }
  amqp_table_t args = {.num_entries = n, .entries = entries};
  amqp_queue_declare(conn, channel, amqp_cstring_bytes(name), 0, 1, 0, 0, args);
  return amqp_get_rpc_reply(conn);
}

int reframe_amqp_publish(amqp_connection_state_t conn, amqp_channel_t channel, const char *exchange,
                         const char *routing_key, const void *body, size_t body_len, int mandatory,
                         const char *const *header_keys, const char *const *header_values, int header_count) {
  amqp_basic_properties_t props;
  memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  // A few headers at most (error, delivery count, source queue): no allocation needed.
  amqp_table_entry_t entries[8];
  if (header_count > 8) header_count = 8;
  for (int i = 0; i < header_count; i++) {
    entries[i].key = amqp_cstring_bytes(header_keys[i]);
    entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[i].value.value.bytes = amqp_cstring_bytes(header_values[i]);
  }
  if (header_count > 0) {
    props._flags |= AMQP_BASIC_HEADERS_FLAG;
    props.headers.num_entries = header_count;
    props.headers.entries = entries;
  }
  amqp_bytes_t payload = {.len = body_len, .bytes = (void *)body};
  return amqp_basic_publish(conn, channel, amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key),
                            mandatory, 0, &props, payload);
}

static const amqp_field_value_t *find_header(const amqp_basic_properties_t *props, const char *key) {
  if (!(props->_flags & AMQP_BASIC_HEADERS_FLAG)) return NULL;
  size_t keylen = strlen(key);
  for (int i = 0; i < props->headers.num_entries; i++) {
    const amqp_table_entry_t *e = &props->headers.entries[i];
    if (e->key.len == keylen && memcmp(e->key.bytes, key, keylen) == 0) return &e->value;
  }
  return NULL;
}

int reframe_amqp_header_count(const amqp_basic_properties_t *props) {
  return (props->_flags & AMQP_BASIC_HEADERS_FLAG) ? props->headers.num_entries : 0;
}

static void copy_bytes(amqp_bytes_t bytes, char *buf, size_t buflen) {
  size_t n = bytes.len < buflen - 1 ? bytes.len : buflen - 1;
  memcpy(buf, bytes.bytes, n);
  buf[n] = 0;
}

long reframe_amqp_header_at(const amqp_basic_properties_t *props, int index, char *key_buf, size_t key_len,
                            char *value_buf, size_t value_len) {
  if (index < 0 || index >= reframe_amqp_header_count(props)) return -1;
  const amqp_table_entry_t *e = &props->headers.entries[index];
  copy_bytes(e->key, key_buf, key_len);
  if (e->value.kind != AMQP_FIELD_KIND_UTF8 && e->value.kind != AMQP_FIELD_KIND_BYTES) return -1;
  copy_bytes(e->value.value.bytes, value_buf, value_len);
  return (long)strlen(value_buf);
}

static long as_integer(const amqp_field_value_t *v) {
  switch (v->kind) {
  case AMQP_FIELD_KIND_I8: return v->value.i8;
  case AMQP_FIELD_KIND_U8: return v->value.u8;
  case AMQP_FIELD_KIND_I16: return v->value.i16;
  case AMQP_FIELD_KIND_U16: return v->value.u16;
  case AMQP_FIELD_KIND_I32: return v->value.i32;
  case AMQP_FIELD_KIND_U32: return (long)v->value.u32;
  case AMQP_FIELD_KIND_I64: return (long)v->value.i64;
  case AMQP_FIELD_KIND_U64: return (long)v->value.u64;
  default: return -1;
  }
}

long reframe_amqp_delivery_count(const amqp_basic_properties_t *props) {
  const amqp_field_value_t *v = find_header(props, "x-delivery-count");
  return v ? as_integer(v) : -1;
}

amqp_rpc_reply_t reframe_amqp_declare_exchange(amqp_connection_state_t conn, amqp_channel_t channel, const char *name,
                                               const char *type) {
  amqp_exchange_declare(conn, channel, amqp_cstring_bytes(name), amqp_cstring_bytes(type), 0, 1, 0, 0, amqp_empty_table);
  return amqp_get_rpc_reply(conn);
}

amqp_rpc_reply_t reframe_amqp_bind(amqp_connection_state_t conn, amqp_channel_t channel, const char *queue,
                                   const char *exchange, const char *routing_key) {
  amqp_queue_bind(conn, channel, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key),
                  amqp_empty_table);
  return amqp_get_rpc_reply(conn);
}

amqp_rpc_reply_t reframe_amqp_consume(amqp_connection_state_t conn, amqp_channel_t channel, const char *queue,
                                      const char *tag) {
  amqp_basic_consume(conn, channel, amqp_cstring_bytes(queue), amqp_cstring_bytes(tag), 0, 0, 0, amqp_empty_table);
  return amqp_get_rpc_reply(conn);
}

amqp_rpc_reply_t reframe_amqp_purge(amqp_connection_state_t conn, amqp_channel_t channel, const char *queue,
                                    uint32_t *count) {
  amqp_queue_purge_ok_t *ok = amqp_queue_purge(conn, channel, amqp_cstring_bytes(queue));
  *count = ok ? ok->message_count : 0;
  return amqp_get_rpc_reply(conn);
}

amqp_rpc_reply_t reframe_amqp_get(amqp_connection_state_t conn, amqp_channel_t channel, const char *queue) {
  return amqp_basic_get(conn, channel, amqp_cstring_bytes(queue), 0);
}
