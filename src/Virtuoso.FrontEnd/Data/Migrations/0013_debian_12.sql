-- The preconfigured Debian 12 configuration (issue 15 item 1): guest/build-debian.sh's image, which boots from its own
-- disk and grows its root file system to the purchased disk at the first boot (cloud-init's growpart and resizefs), so
-- the configuration's 4096 MB disk is twice the image's 2048 MB minimum. 512 MB of memory: systemd and cloud-init boot
-- in 256 MB (the minimum, docs/guest.md "debian-12"), with room left for what a buyer runs.
INSERT INTO configurations (name, processor, speed, os, memory, disk, image, min_memory, min_disk, est_storage_rate, est_running_rate, sort) VALUES
  ('debian-12', 'Pentium3', 4000, 'linux', 512, 4096, 'debian-12', 256, 2048, NULL, NULL, 101);
