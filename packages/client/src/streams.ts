// Reading streamed answers: a body as lines (NDJSON export) and as Server-Sent Events (watch).

/** The lines of a response body as they arrive (without their line ends; a last line without one too). */
export async function* readLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let start = 0;
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n', start)) {
        const line = buffered.slice(start, end);
        start = end + 1;
        yield line.endsWith('\r') ? line.slice(0, -1) : line;
      }
      buffered = buffered.slice(start);
    }
    buffered += decoder.decode();
    if (buffered !== '') yield buffered;
  } finally {
    reader.releaseLock();
  }
}

/** One Server-Sent Event as sent: its `id` (or the last one before it), `event` name and `data`. */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * The events of a `text/event-stream` body, parsed as the HTML standard says (`id`, `event`,
 * `data` fields, comment lines ignored, an event dispatched at a blank line when it has data).
 * `onId` hears an id that came in a complete block without data (the stream's starting point):
 * like EventSource's lastEventId, it is where a reconnection resumes.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>, onId?: (id: string) => void): AsyncGenerator<SseMessage> {
  let id: string | undefined;
  let idInBlock = false;
  let event = '';
  let data: string[] = [];
  for await (const raw of readLines(body)) {
    // Lines end in \n, \r\n or \r; readLines splits at \n and drops a \r before it.
    for (const line of raw.split('\r')) {
      if (line === '') {
        if (data.length > 0) yield { id, event: event || 'message', data: data.join('\n') };
        else if (idInBlock && id !== undefined) onId?.(id);
        event = '';
        data = [];
        idInBlock = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) {
        id = value;
        idInBlock = true;
      }
    }
  }
}
