// The pinned JS Agents SDK (`@openai/agents` 0.14.3, the newest release on openai 6; openai 7
// needs Node 22) against a Responses server: an Agent on an OpenAIResponsesModel built from the
// caller's `openai` client, tracing off (its exporter would post spans to api.openai.com).

import { Agent, OpenAIResponsesModel, run, setTracingDisabled, tool } from '@openai/agents';

setTracingDisabled(true);

export { Agent, run, tool };

// An Agent whose model is `model` served through `client` (the Responses API).
export function responsesAgent(client, model, opts = {}) {
  return new Agent({ name: 'e2e', instructions: 'You are a test agent.', ...opts, model: new OpenAIResponsesModel(client, model) });
}

// A strict function tool `lookup_token {key}` whose calls are recorded in `calls`; it answers
// `answer(key)`.
export function recordingTool(calls, answer) {
  return tool({
    name: 'lookup_token',
    description: 'Looks up the token stored under a key',
    parameters: { type: 'object', properties: { key: { type: 'string' } }, required: ['key'], additionalProperties: false },
    strict: true,
    execute: async (input) => {
      calls.push(input);
      return answer(input.key);
    },
  });
}
