// Prints the delivery URL Cloudinary's Node SDK writes for a public id and
// options, signed with the given secret: what a front end built for
// Cloudinary would request. Used by the tests (tests/src/sdk.rs).
//   node cloudinary_url.js SECRET PUBLIC_ID OPTIONS_JSON
const cloudinary = require("cloudinary").v2;
const [secret, publicId, options] = process.argv.slice(2);
cloudinary.config({ cloud_name: "avenue", api_key: "1", api_secret: secret, secure: true });
process.stdout.write(cloudinary.url(publicId, JSON.parse(options)));
