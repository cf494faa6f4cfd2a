/*
 * Which network the map draws: as operated now (the devices as reported,
 * the jumpers and cuts in the field, the outages) or as built (every device
 * in its normal state). The network and device layers ask the server for
 * the one chosen (/map/...?view=); field.js holds the switch.
 */

export const mapView = { asBuilt: false };

/** The query parameter of a map request for the view chosen ('' as operated: the default). */
export function viewParam() {
  return mapView.asBuilt ? '&view=normal' : '';
}
