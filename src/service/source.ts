// Where an image's bytes come from: `upload:<id>` reads the caller's own upload from the object
// store; anything else goes through the safe fetcher and must be an image by its magic bytes.
import { ImageEditError } from "../core/errors.js";
import { type FetchPolicy, fetchImage } from "../fetch/index.js";
import type { ObjectStore } from "../ports.js";
import { uploadKey } from "./edit.js";
import { UPLOAD_URL } from "./schemas.js";

export function makeFetchSource(objects: ObjectStore, policy: FetchPolicy) {
  return async (url: string, userId: string, signal?: AbortSignal): Promise<Buffer> => {
    const upload = UPLOAD_URL.exec(url);
    if (upload) {
      const data = await objects.getBuffer(uploadKey(userId, upload[1]));
      if (!data) throw new ImageEditError("NOT_FOUND", `upload ${upload[1]} not found (uploads expire)`);
      return data;
    }
    if (url.startsWith("upload:")) throw new ImageEditError("INVALID_INPUT", "not an upload id this service issued");
    return (await fetchImage(url, policy, { signal })).data;
  };
}
