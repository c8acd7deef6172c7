// POST /uploads: multipart (field "file") or a raw body. The body is read under the byte cap while
// it streams and refused from its first bytes when it is not an image; then the header is probed
// (dimensions, pixel bombs) before anything is kept at uploads/{userId}/{uploadId}. A name the
// client gave (multipart filename or ?name=) is kept beside it (uploadNameKey), so an edit that
// refers to the upload without a name of its own shows that name.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import busboy from "busboy";
import { byteLimit, describeBytes, tooLargeMessage } from "../core/bytes.js";
import { ImageEditError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import type { ProbeResult } from "../core/pipeline.js";
import { readUpload, type Upload } from "../fetch/index.js";
import type { ObjectStore } from "../ports.js";
import { fileName, saveUploadName, uploadKey, uploadNameKey } from "../service/edit.js";

export interface UploadAnswer {
  id: string;
  url: string;
  name: string;
  bytes: number;
  format: string;
  width: number;
  height: number;
  previewUrl: string;
}

export interface UploadDeps {
  objects: ObjectStore;
  limits: Limits;
  probe: (input: Buffer, limits: Limits) => Promise<ProbeResult>;
}

/** Parts of a multipart upload read at most: the file and a few fields beside it. */
const MAX_PARTS = 40;
/** What a multipart envelope may add around the file (boundaries, part headers, small fields). */
const ENVELOPE_BYTES = 64 * 1024;

const twoFiles = () =>
  new ImageEditError(
    "INVALID_INPUT",
    'file: one image per upload, and this body has two parts named "file": send each in its own POST /uploads',
    { field: "file" },
  );

function readMultipart(req: Request, maxBytes: number): Promise<{ upload: Upload; filename?: string }> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: { "content-type": req.headers.get("content-type") ?? "" },
        // Browsers send a filename's UTF-8 bytes as they are; busboy's default reads them as latin1.
        defParamCharset: "utf8",
        // Two files: the second is read only to see whether it is another "file" (see below).
        limits: { files: 2, fileSize: maxBytes + 1, fields: 20, parts: MAX_PARTS, fieldSize: 64 * 1024 },
      });
    } catch (e) {
      reject(new ImageEditError("INVALID_INPUT", `multipart body: ${(e as Error).message}`, { field: "file" }));
      return;
    }
    let got: Promise<{ upload: Upload; filename?: string }> | undefined;
    // What came instead of a file part named "file", to say so when none came.
    let fileAsField = false;
    let otherFile: string | undefined;
    let partsCut = false;
    // A second part named "file": which one the client meant is anyone's guess, so neither is kept.
    let secondFile = false;
    bb.on("field", (name) => {
      if (name === "file") fileAsField = true;
    });
    bb.on("partsLimit", () => {
      partsCut = true;
    });
    bb.on("file", (name, stream, info) => {
      // busboy fails a part's stream when the body breaks off (a client that gives up mid-upload).
      // By then nothing may be reading it (a part refused or ignored), and an 'error' nobody hears
      // would end the process.
      stream.on("error", () => undefined);
      if (name !== "file" || got) {
        if (name === "file") {
          secondFile = true;
          // Answered now: the rest of the body does not change the answer.
          if (got) got.then(() => reject(twoFiles()), reject);
        } else otherFile ??= name;
        stream.resume();
        return;
      }
      // busboy fails the file's stream on a broken envelope (no closing boundary, say): the
      // client's fault, named as such rather than an internal error.
      got = readUpload(stream, maxBytes).then(
        (upload) => ({ upload, filename: info.filename }),
        (e: unknown) => {
          throw e instanceof ImageEditError
            ? e
            : new ImageEditError("INVALID_INPUT", `multipart body: ${(e as Error)?.message ?? String(e)}`, {
                field: "file",
              });
        },
      );
      // A refused file is answered at once, not when the client has sent the rest (which could be
      // endless); the rest is discarded, and the HTTP adapter closes the connection if it keeps coming.
      got.catch((e: unknown) => {
        reject(e);
        stream.resume();
      });
    });
    const settle = () => {
      if (got && secondFile) return got.then(() => reject(twoFiles()), reject);
      if (got) return got.then(resolve, reject);
      const why = fileAsField
        ? 'the part "file" came without a filename, so it was read as text; send it as a file (curl: -F file=@photo.jpg)'
        : partsCut
          ? `too many parts (more than ${MAX_PARTS}) before a part named "file"; send the image first`
          : `send the image in a multipart field named "file"${otherFile === undefined ? "" : ` (a file came in ${JSON.stringify(otherFile.slice(0, 100))})`}`;
      reject(new ImageEditError("INVALID_INPUT", `file: ${why}`, { field: "file" }));
    };
    bb.on("close", settle);
    bb.on("error", (e: Error) => {
      if (got) got.then(resolve, reject);
      else reject(new ImageEditError("INVALID_INPUT", `multipart body: ${e.message}`, { field: "file" }));
    });
    if (!req.body) return reject(new ImageEditError("INVALID_INPUT", "the request has no body", { field: "file" }));
    const body = Readable.fromWeb(req.body as import("node:stream/web").ReadableStream);
    // The whole body is capped too: parts that are not the file are discarded as they stream, and
    // without this an endless one would be read until the request timed out.
    let received = 0;
    body.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes + ENVELOPE_BYTES) {
        reject(
          new ImageEditError(
            "IMAGE_TOO_LARGE",
            `the upload is more than ${describeBytes(received - chunk.length)}; ${byteLimit(maxBytes)}`,
            {
              details: { limit: maxBytes },
            },
          ),
        );
      }
    });
    // pipe() does not forward errors: a client that goes away mid-upload must not crash us.
    body.on("error", (e) => {
      bb.destroy(e);
      reject(new ImageEditError("INVALID_INPUT", `the upload was interrupted: ${e.message}`, { field: "file" }));
    });
    body.pipe(bb);
  });
}

export async function receiveUpload(
  req: Request,
  userId: string,
  nameParam: string | undefined,
  deps: UploadDeps,
): Promise<{ answer: UploadAnswer; key: string }> {
  const max = deps.limits.maxImageBytes;
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  const contentType = req.headers.get("content-type") ?? "";
  const multipart = contentType.toLowerCase().startsWith("multipart/form-data");
  if (Number.isFinite(declared) && declared > max + (multipart ? ENVELOPE_BYTES : 0)) {
    throw new ImageEditError("IMAGE_TOO_LARGE", tooLargeMessage(declared, max, "the upload"), {
      details: { bytes: declared, limit: max },
    });
  }
  let upload: Upload;
  let filename: string | undefined;
  if (multipart) {
    ({ upload, filename } = await readMultipart(req, max));
  } else {
    if (!req.body) throw new ImageEditError("INVALID_INPUT", "the request has no body");
    upload = await readUpload(Readable.fromWeb(req.body as import("node:stream/web").ReadableStream), max, {
      declaredLength: req.headers.get("content-length") ?? undefined,
    });
  }
  if (upload.type.format === "svg" && !deps.limits.allowSvg) {
    throw new ImageEditError("UNSUPPORTED_FORMAT", "SVG uploads are turned off on this service (ALLOW_SVG)");
  }
  const probe = await deps.probe(upload.data, deps.limits);
  const id = randomBytes(16).toString("hex");
  const key = uploadKey(userId, id);
  const given = fileName(filename || nameParam, "");
  const writes = await Promise.allSettled([
    deps.objects.put(key, upload.data, upload.type.mime),
    given ? saveUploadName(deps.objects, userId, id, given) : undefined,
  ]);
  const failed = writes.find((w) => w.status === "rejected");
  if (failed) {
    // the file and its name go together: neither stays behind for the upload's whole lifetime
    await Promise.all([key, uploadNameKey(userId, id)].map((k) => deps.objects.delete(k).catch(() => undefined)));
    throw failed.reason;
  }
  const name = given || `${id}.${upload.type.ext}`;
  return {
    key,
    answer: {
      id,
      url: `upload:${id}`,
      name,
      bytes: upload.data.length,
      format: probe.format,
      width: probe.width,
      height: probe.height,
      previewUrl: await deps.objects.signedGetUrl(key, 3600),
    },
  };
}
