// Prints the URL @cloudinary/url-gen builds (unsigned, as in a browser)
// for a public id and a list of actions given as JSON, each one call of
// url-gen's own builders, so the tests request what an app written with
// url-gen requests. Used by the tests (tests/src/sdk.rs).
//   node cloudinary_urlgen.js PUBLIC_ID ACTIONS_JSON
// An action is one of:
//   {"resize": "fill", "width": 400, "height": 300, "gravity": "auto" | "north_west" | "xy_center",
//    "x": 10, "y": 20, "zoom": 1.5, "aspectRatio": "16:9", "background": "auto" | "red" | GRADIENT}
//   where GRADIENT is {"gradient": "border" | "predominant", "colors": 2 | 4,
//    "direction": "vertical" | ..., "contrast": true, "palette": ["red", "#00ff00"]}
//   {"rotate": 45} | {"rotate": "hflip" | "vflip" | "auto_right" | "auto_left" | "ignore"}
//   {"format": "auto" | "webp" | ...}   {"quality": "auto" | 80}
//   {"variable": ["name", 60 | "expression"]}
//   {"if": "w > 250", "then": [actions], "else": [actions]}
const { CloudinaryImage, Transformation } = require("@cloudinary/url-gen");
const Resize = require("@cloudinary/url-gen/actions/resize");
const Rotate = require("@cloudinary/url-gen/actions/rotate");
const Delivery = require("@cloudinary/url-gen/actions/delivery");
const Variable = require("@cloudinary/url-gen/actions/variable");
const Conditional = require("@cloudinary/url-gen/actions/conditional");
const Gravity = require("@cloudinary/url-gen/qualifiers/gravity");
const Compass = require("@cloudinary/url-gen/qualifiers/compass");
const Background = require("@cloudinary/url-gen/qualifiers/background");
const RotationMode = require("@cloudinary/url-gen/qualifiers/rotationMode");
const { expression } = require("@cloudinary/url-gen/qualifiers/expression");

const RESIZES = {
  scale: Resize.scale, fit: Resize.fit, limit: Resize.limitFit, mfit: Resize.minimumFit,
  fill: Resize.fill, lfill: Resize.limitFill, fill_pad: Resize.fillPad, thumb: Resize.thumbnail,
  crop: Resize.crop, pad: Resize.pad, lpad: Resize.limitPad, mpad: Resize.minimumPad,
  auto: Resize.auto,
};
const COMPASS = {
  north_west: Compass.northWest, north: Compass.north, north_east: Compass.northEast,
  west: Compass.west, center: Compass.center, east: Compass.east,
  south_west: Compass.southWest, south: Compass.south, south_east: Compass.southEast,
};
const MODES = {
  hflip: RotationMode.horizontalFlip, vflip: RotationMode.verticalFlip,
  auto_right: RotationMode.autoRight, auto_left: RotationMode.autoLeft,
  ignore: RotationMode.ignore,
};

// url-gen writes a string as given; its expression() turns "iw / 2" into
// Cloudinary's iw_div_2, as its documentation has apps do.
const value = (v) => (typeof v === "string" && v.includes(" ") ? expression(v) : v);

function gradient(spec) {
  let fade = spec.gradient === "border" ? Background.borderGradient() : Background.predominantGradient();
  if (spec.colors !== undefined) fade = fade.gradientColors(spec.colors);
  if (spec.direction !== undefined) fade = fade.gradientDirection(spec.direction);
  if (spec.contrast) fade = fade.contrast();
  if (spec.palette) fade = fade.palette(...spec.palette);
  return fade;
}

function resize(spec) {
  const make = RESIZES[spec.resize];
  if (!make) throw new Error(`no resize ${spec.resize}`);
  let action = make();
  if (spec.width !== undefined) action = action.width(value(spec.width));
  if (spec.height !== undefined) action = action.height(value(spec.height));
  if (spec.aspectRatio !== undefined) action = action.aspectRatio(spec.aspectRatio);
  if (spec.gravity === "auto") action = action.gravity(Gravity.autoGravity());
  else if (spec.gravity === "xy_center") action = action.gravity(Gravity.xyCenter());
  else if (spec.gravity) action = action.gravity(Gravity.compass(COMPASS[spec.gravity]()));
  if (spec.x !== undefined) action = action.x(spec.x);
  if (spec.y !== undefined) action = action.y(spec.y);
  if (spec.zoom !== undefined) action = action.zoom(spec.zoom);
  if (spec.background && spec.background.gradient) action = action.background(gradient(spec.background));
  else if (spec.background === "auto") action = action.background(Background.auto());
  else if (spec.background) action = action.background(Background.color(spec.background));
  return action;
}

function apply(target, actions) {
  for (const spec of actions) {
    if (spec.resize) target.resize(resize(spec));
    else if (typeof spec.rotate === "number") target.rotate(Rotate.byAngle(spec.rotate));
    else if (spec.rotate) target.rotate(Rotate.mode(MODES[spec.rotate]()));
    else if (spec.format) target.delivery(Delivery.format(spec.format));
    else if (spec.quality) target.delivery(Delivery.quality(spec.quality));
    else if (spec.variable) {
      const [name, value] = spec.variable;
      target.addVariable(Variable.set(name, typeof value === "string" ? expression(value) : value));
    } else if (spec.if) {
      let action = Conditional.ifCondition(spec.if, apply(new Transformation(), spec.then));
      if (spec.else) action = action.otherwise(apply(new Transformation(), spec.else));
      target.conditional(action);
    } else throw new Error(`unknown action ${JSON.stringify(spec)}`);
  }
  return target;
}

const [publicId, actions] = process.argv.slice(2);
const image = new CloudinaryImage(publicId, { cloudName: "avenue" }, { analytics: false });
process.stdout.write(apply(image, JSON.parse(actions)).toURL());
