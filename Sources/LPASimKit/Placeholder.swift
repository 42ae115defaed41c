// LPASimKit
