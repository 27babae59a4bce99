#pragma once
// Internal state shared by gateway.cpp (process-wide part), exchange.cpp (routing and simple
// answers) and chat.cpp (the chat attempt loop). Not for hosts.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/ids.h"
#include "dialect/openai_chat/chat_request.h"
#include "dialect/openai_responses/responses_request.h"
#include "engine/gateway.h"
#include "engine/http.h"
#include "engine/metrics.h"
#include "engine/translator.h"
#include "json/json.h"
#include "json/writer.h"
#include "keys/client_keys.h"
#include "pool/credential_pool.h"

namespace zproxy {

enum class StoreHealth : uint8_t { kUnknown, kUp, kDown };

// A shared store's answer to an operation an exchange waits for.
struct StoreOutcome {
  bool ok = false;
  StoreReply reply;
};

struct GatewayCore {
  GatewayCore(const EnvMap& env, const HostLimits& limits, int64_t now, int64_t wall);

  HostLimits limits;
  Config config;
  std::optional<Error> config_error;
  CredentialPool pool;
  MemoryStore local;  // client keys' limits: the memory backend, a shared store's fallback
  Metrics metrics;
  std::string logs;
  // Reads non-streaming upstream answers, each within one call (Translator::finish), so one
  // parser serves every exchange and its memory is reused.
  JsonEventParser answer_json;
  std::set<uint64_t> jobs_in_flight;
  uint64_t next_job_id = 1;
  std::optional<Error> last_fetch_error;  // the most recent token fetch failed with this
  uint64_t own_version = 0;
  uint64_t polled_version = 0;  // version() at the last poll
  bool shutting_down = false;
  size_t open = 0;
  int64_t started_wall = 0;
  int64_t wall_minus_mono = 0;  // wall ≈ now + wall_minus_mono

  // a shared state store (shared_state.cpp); unused with STATE_STORE=memory
  bool shared = false;
  std::vector<Job> store_jobs;        // for the next poll
  std::vector<Job> store_held;        // settlements waiting to share the next call's round trip
  int64_t store_held_until = kNever;  // when they go out on their own
  std::map<uint64_t, StoreOp> store_in_flight;                    // job id -> its operation
  std::map<uint64_t, std::optional<StoreOutcome>> store_awaited;  // exchanges wait for these
  StoreHealth store_health = StoreHealth::kUnknown;
  int64_t store_down_since = 0;  // wall ms
  int64_t next_health_sync = 0;
  bool health_sync_in_flight = false;
  std::map<std::string, int64_t, std::less<>> unsettled;  // tokens the store has not got yet

  uint64_t version() const { return own_version + pool.version(); }
  // Has the host something to collect (poll)? Log lines, a state change (a credential freed, a
  // token dead: the version moved), or a token fetch due now. Later work is covered by the
  // poll's next_deadline.
  bool wants_poll(int64_t now) const {
    return !logs.empty() || !store_jobs.empty() || now >= store_held_until ||
           version() != polled_version ||
           (!config_error && config.mode == UpstreamMode::kGuest && pool.wants_fetch(now));
  }
  int64_t wall_at(int64_t now) const { return now + wall_minus_mono; }
  bool log_enabled(LogLevel level) const { return level >= config.log_level; }
  void emit_log(LogLevel level, std::string line) {
    if (log_enabled(level)) logs += line;
  }
};

enum class Phase : uint8_t {
  kBody,            // waiting for the request body
  kWaitStore,       // waiting for the state store's answer (admission, usage)
  kWaitCredential,  // no credential free yet
  kConnect,         // upstream request started, not connected
  kHead,            // connected, waiting for the response head
  kUpstreamBody,    // reading a 200 answer through the translator
  kErrorBody,       // reading a non-200 answer to classify it
  kDone,
};

struct ExchangeState {
  ExchangeState(GatewayCore& g, std::span<const uint8_t> entropy) : gw(g), ids(entropy) {}

  GatewayCore& gw;
  IdSource ids;
  std::string request_id;
  Route route = Route::kOther;
  Dialect dialect = Dialect::kChat;  // the shape of answers and errors
  std::string origin;
  std::string query;                 // the request target's query string, without '?'
  std::optional<ClientKey> key;      // the client key the request presented (none: open access)
  bool admitted = false;             // the key's limits admitted it: a concurrency lease is held
  std::string key_lease;             // that lease (random hex: unique across replicas)
  bool store_admitted = false;       // the shared store holds the lease (else local memory)
  uint64_t store_job = 0;            // the store operation this exchange waits for
  std::vector<ClientKey> page_keys;  // GET /admin/keys: the page (kept across a reload)
  std::vector<uint64_t> page_jobs;   // a usage call per key of it (0: answered locally)
  bool page_has_more = false;
  int64_t store_deadline = kNever;  // decided locally from then on
  int64_t lease_renewed = 0;        // monotonic ms of its last renewal
  size_t request_bytes = 0;         // for the token estimate when upstream reports no usage
  size_t output_bytes = 0;          // bytes handed to the host
  int64_t charged_tokens = 0;       // upstream's usage.total_tokens of the answer
  Phase phase = Phase::kDone;
  Action action = Action::kFinish;  // what the next step tells the host
  int64_t start_mono = 0;
  int64_t last_now = 0;  // the time of the last event (for step() between events)
  int64_t start_wall = 0;

  // response
  bool head_ready = false;
  bool streaming = false;
  int status = 0;
  std::vector<Header> headers;
  std::string out;

  // every dialect's answer
  std::optional<CanonicalRequest> chat;
  bool client_stream = false;  // the client asked for a stream (Responses: upstream always streams)
  int64_t wall_now = 0;        // the wall clock at the latest event (Responses' completed_at)
  std::optional<ResponsesRequest> responses;  // Responses: the request beside its canonical part
  // What the client asked for, before each attempt adapts it to its model (MODEL_CAPS).
  std::optional<int64_t> asked_max_tokens;
  ThinkingSwitch asked_thinking = ThinkingSwitch::kDefault;
  std::string asked_effort;
  bool asked_send_effort = false;
  bool hide_reasoning = false;  // an always-thinking model serves a client that asked for none
  std::string first_model;      // the upstream model before any fallback
  size_t fallback_next = 0;     // the next entry of MODEL_FALLBACKS[first_model] to try
  bool thinking_text = true;    // Messages: thinking blocks carry their text
  int64_t input_estimate = 0;   // Messages: the request's token estimate
  std::string stop_reason;      // for the log line: the answer's finish, in the dialect's words
  // count_tokens
  bool counting = false;     // a tokenizer call is under way
  std::string count_source;  // "tokenizer" | "estimate", for the log line

  std::string upstream_model;
  std::string completion_id;
  std::optional<Translator> translator;
  UpstreamRequest upstream;
  std::optional<Lease> lease;
  std::vector<Lease> tried;
  int attempts = 0;
  int64_t deadline_total = 0;  // before the commit point
  int64_t attempt_start = 0;
  int64_t last_upstream = 0;  // last upstream activity (idle timeout)
  int64_t last_output = 0;    // last bytes to the client (keep-alive)
  int upstream_status = 0;
  std::string error_body;
  std::optional<UpstreamFailure> last_failure;
  AcquireStatus wait_reason = AcquireStatus::kNone;
  int64_t wait_until = kNever;
  int64_t ttft_ms = -1;
  int64_t first_body_at = -1;  // this attempt's first upstream body bytes (monotonic ms)
  std::string fingerprint;
  std::string error_code;  // for the log line
};

// exchange.cpp
void respond_json(ExchangeState& s, int status, std::string body);
void respond_error(ExchangeState& s, const Error& error, int64_t retry_after_s = -1);
void finish_action(ExchangeState& s);

// chat.cpp (every dialect's answer flow)
// The upstream model a client's name stands for (Messages: Claude names resolved), set as
// s.upstream_model; the resolved name, or "" after answering 404 model_not_found.
std::string resolve_model(ExchangeState& s, const std::string& model);
void messages_on_body(ExchangeState& s, std::string_view body, int64_t now);
void responses_on_body(ExchangeState& s, std::string_view body, int64_t now);
void chat_on_body(ExchangeState& s, std::string_view body, int64_t now);
void chat_on_head(ExchangeState& s, int status, int64_t now);
void chat_on_data(ExchangeState& s, std::string_view bytes, int64_t now);
void chat_on_end(ExchangeState& s, int64_t now);
void chat_on_net_error(ExchangeState& s, NetError error, int64_t now);
void chat_on_timer(ExchangeState& s, int64_t now);
void chat_on_client_gone(ExchangeState& s, int64_t now);
int64_t chat_deadline(const ExchangeState& s);
// An open request renews its key's concurrency lease every half lease TTL.
void renew_lease(ExchangeState& s, int64_t now);
int64_t lease_deadline(const ExchangeState& s);

// key_admission.cpp: a client key's model list and limits, its lease, usage and settling
// Admission of a request for its key's limits: go on, stop (answered), or wait for the store.
enum class Admit : uint8_t { kGo, kStop, kWait };
bool key_allows(ExchangeState& s, const std::string& model);
Admit admit_limits(ExchangeState& s, int64_t now);
Admit admission_on_timer(ExchangeState& s, int64_t now);       // Phase::kWaitStore
void settle_key(ExchangeState& s, int64_t now, int64_t wall);  // when the exchange ends
void answer_usage(ExchangeState& s, int64_t now);
void usage_on_timer(ExchangeState& s, int64_t now);  // Phase::kWaitStore
// GET /admin/keys: keys [start, end) as /v1/usage shows them; with a shared store, limited
// keys' usage comes from it (all asked at once, each decided locally at the timeout).
void answer_key_page(ExchangeState& s, size_t start, size_t end, int64_t now);
void key_page_on_timer(ExchangeState& s, int64_t now);  // Phase::kWaitStore
void write_key_usage(JsonWriter& w, const ClientKey* key, const KeyUsage& u, bool from_store);

// shared_state.cpp
void configure_store(GatewayCore& gw);  // host defaults, the host's backend, gw.shared
uint64_t store_send(GatewayCore& gw, StoreOp op, bool awaited);
void store_send_later(GatewayCore& gw, StoreOp op, int64_t now);  // a settlement: may be held
int64_t store_poll(GatewayCore& gw, int64_t now);  // releases held calls when due; their deadline
bool store_ready(const GatewayCore& gw, uint64_t id);                  // its reply came
std::optional<StoreOutcome> store_take(GatewayCore& gw, uint64_t id);  // once it came
void store_abandon(GatewayCore& gw, uint64_t id, StoreOpKind kind);    // decided locally
void store_on_request(GatewayCore& gw, int64_t now);  // refreshes credential health when due
void store_publish_failure(GatewayCore& gw, Lease lease, Verdict verdict, int64_t until,
                           int64_t now);
void store_on_result(GatewayCore& gw, uint64_t id, const StoreResult& r, int64_t now, int64_t wall);
std::string_view store_state_name(const GatewayCore& gw);  // "memory" | "up" | "down"

// count_tokens.cpp
void count_on_body(ExchangeState& s, std::string_view body, int64_t now);
void count_on_head(ExchangeState& s, int status, int64_t now);
void count_on_data(ExchangeState& s, std::string_view bytes, int64_t now);
void count_on_end(ExchangeState& s, int64_t now);
void count_on_timer(ExchangeState& s, int64_t now);
void count_on_client_gone(ExchangeState& s, int64_t now);
int64_t count_deadline(const ExchangeState& s);

}  // namespace zproxy
