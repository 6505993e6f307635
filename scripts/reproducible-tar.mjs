// GNU tar's flags for an archive whose bytes depend only on its files: sorted names, fixed
// times, owners and PAX headers. Used by the plugin's release archives (dist.mjs) and the
// images' layers (images.mjs).
export const REPRODUCIBLE_TAR = [
  "--sort=name",
  "--mtime=@0",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "--format=posix",
  "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
];
