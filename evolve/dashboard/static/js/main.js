// Start: draw the view the address names.
"use strict";
EV.route();
