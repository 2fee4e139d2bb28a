// Summarizes event.text with the endpoint: reads the API key from SSM once per container, then calls
// the OpenAI-compatible chat completions API through the internal load balancer.
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

const ssm = new SSMClient({});
let apiKey;

export async function handler(event) {
  apiKey ??= (await ssm.send(new GetParameterCommand({ Name: process.env.LLM_API_KEY_PARAMETER, WithDecryption: true }))).Parameter.Value;
  const response = await fetch(`${process.env.LLM_URL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: `Summarize in one sentence:\n\n${event.text}` }], max_tokens: 128 }),
  });
  if (!response.ok) {
    throw new Error(`the endpoint answered ${response.status}: ${await response.text()}`);
  }
  return { summary: (await response.json()).choices[0].message.content };
}
