// The same jobs as avenue-media's cold renders, done by sharp (libvips, the
// engine behind imgproxy and the Next.js image optimiser), for `make bench`:
//   GET /{jpeg|webp|avif}/{anything}: the photo cover-cropped to 400x300 at
//     quality 80 in that format;
//   GET /job/{placeholder|watermark|avatar|caption|face}/{anything}: the
//     Cloudinary jobs of issue 30, each as sharp's documentation writes it.
// The photo, the logo and the face photo are read once (avenue-media keeps
// originals in memory too); sharp's operation cache is off, so every
// request does the whole decode, resize, composite and encode.
const http = require("http");
const fs = require("fs");
const sharp = require("sharp");

sharp.cache(false);
const [, , photoPath, port, logoPath, facePath] = process.argv;
const photo = fs.readFileSync(photoPath);
const logo = logoPath ? fs.readFileSync(logoPath) : null;
const face = facePath ? fs.readFileSync(facePath) : null;
const formats = { jpeg: "image/jpeg", webp: "image/webp", avif: "image/avif" };

const circle = Buffer.from(
  '<svg width="300" height="300"><circle cx="150" cy="150" r="150" fill="#fff"/></svg>'
);
const caption = Buffer.from(
  '<svg width="400" height="300"><text x="200" y="271" text-anchor="middle" ' +
    'font-family="Liberation Sans" font-size="40" fill="#fff">Avenue</text></svg>'
);

const jobs = {
  // c_scale,w_50,e_blur:2000,q_1: a Gaussian of 100 pixels on the 50.
  placeholder: async () =>
    ["image/jpeg", await sharp(photo).resize(50).blur(100).jpeg({ quality: 1 }).toBuffer()],
  // c_fill,w_400,h_300/l_LOGO,w_100/fl_layer_apply,g_south_east,x_10,y_10
  watermark: async () => {
    const mark = await sharp(logo).resize(100).toBuffer({ resolveWithObject: true });
    const body = await sharp(photo)
      .resize(400, 300, { fit: "cover" })
      .composite([{ input: mark.data, left: 400 - mark.info.width - 10, top: 300 - mark.info.height - 10 }])
      .jpeg({ quality: 80 })
      .toBuffer();
    return ["image/jpeg", body];
  },
  // c_fill,w_300,h_300,r_max as WebP: the corners transparent.
  avatar: async () => [
    "image/webp",
    await sharp(photo)
      .resize(300, 300, { fit: "cover" })
      .composite([{ input: circle, blend: "dest-in" }])
      .webp({ quality: 80 })
      .toBuffer(),
  ],
  // c_fill,w_400,h_300/co_white,l_text:Arial_40:Avenue/fl_layer_apply,g_south,y_20
  caption: async () => [
    "image/jpeg",
    await sharp(photo)
      .resize(400, 300, { fit: "cover" })
      .composite([{ input: caption }])
      .jpeg({ quality: 80 })
      .toBuffer(),
  ],
  // c_thumb,g_face,w_150,h_150: sharp has no face detector; its
  // attention strategy (luminance, saturation, skin tones) is the nearest.
  face: async () => [
    "image/jpeg",
    await sharp(face)
      .resize(150, 150, { fit: "cover", position: sharp.strategy.attention })
      .jpeg({ quality: 80 })
      .toBuffer(),
  ],
};

http
  .createServer(async (req, res) => {
    const [, first, second] = req.url.split("/");
    try {
      let type, body;
      if (first === "job" && jobs[second]) {
        [type, body] = await jobs[second]();
      } else if (formats[first]) {
        type = formats[first];
        body = await sharp(photo)
          .resize(400, 300, { fit: "cover" })
          .toFormat(first, { quality: 80 })
          .toBuffer();
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": type, "content-length": body.length }).end(body);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  })
  .listen(Number(port), "127.0.0.1");
