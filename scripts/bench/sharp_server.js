// The same job as avenue-media's cold renders, done by sharp (libvips, the
// engine behind imgproxy and the Next.js image optimiser), for `make bench`:
// GET /{format}/{anything} answers the photo given on the command line,
// cover-cropped to 400x300 at quality 80 in that format. The photo is read
// once (avenue-media keeps originals in memory too); sharp's operation
// cache is off, so every request does the whole decode, resize and encode.
const http = require("http");
const fs = require("fs");
const sharp = require("sharp");

sharp.cache(false);
const [, , photoPath, port] = process.argv;
const photo = fs.readFileSync(photoPath);
const formats = { jpeg: "image/jpeg", webp: "image/webp", avif: "image/avif" };

http
  .createServer(async (req, res) => {
    const format = req.url.split("/")[1];
    if (!formats[format]) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await sharp(photo)
        .resize(400, 300, { fit: "cover" })
        .toFormat(format, { quality: 80 })
        .toBuffer();
      res.writeHead(200, { "content-type": formats[format], "content-length": body.length }).end(body);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  })
  .listen(Number(port), "127.0.0.1");
