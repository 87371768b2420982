// Prints the URL next-cloudinary's CldImage asks for, as its loader
// (@cloudinary-util/url-loader) builds it in the browser: unsigned.
// Used by the tests (tests/src/sdk.rs).
//   node cloudinary_loader.js OPTIONS_JSON   (src is the public id)
const { constructCloudinaryUrl } = require("@cloudinary-util/url-loader");
const options = JSON.parse(process.argv[2]);
process.stdout.write(
  constructCloudinaryUrl({ options, config: { cloud: { cloudName: "avenue" } } })
);
