-- The operator's accounts and the configurations of Figure 6 (blank: the OS is only a label, §5.1.4),
-- plus the project's preconfigured Linux guest: the spec of the report's preconfigured machine
-- (Figures 10 and 31), minimum 128 MB memory (Debian's kernel needs ~96 MB) and its 1000 MB disk.
-- The operator's password hash is unusable: nobody logs in as the operator until one is set.
INSERT INTO accounts (username, email, password_hash, type, balance, created_at) VALUES
  ('operator', 'operator@localhost', '!', 'operator', '0', 0),
  ('deposits', 'operator@localhost', '!', 'operator', '0', 0);

INSERT INTO configurations (name, processor, speed, os, memory, disk, image, min_memory, min_disk, est_storage_rate, est_running_rate, sort) VALUES
  ('Configuration1',  'Pentium3', 4000, 'win98',      64, 100, NULL, NULL, NULL, NULL, NULL, 1),
  ('Configuration2',  'Pentium3', 2000, 'win98',      32,  50, NULL, NULL, NULL, NULL, NULL, 2),
  ('Configuration3',  'Pentium3', 4000, 'win2000Pro', 64, 100, NULL, NULL, NULL, NULL, NULL, 3),
  ('Configuration4',  'Pentium3', 2000, 'win2000Pro', 32,  50, NULL, NULL, NULL, NULL, NULL, 4),
  ('Configuration5',  'Pentium3', 4000, 'freeBSD',    64, 100, NULL, NULL, NULL, NULL, NULL, 5),
  ('Configuration6',  'Pentium3', 2000, 'freeBSD',    32,  50, NULL, NULL, NULL, NULL, NULL, 6),
  ('Configuration7',  'Pentium3', 4000, 'Other',      64, 100, NULL, NULL, NULL, NULL, NULL, 7),
  ('Configuration8',  'Pentium3', 2000, 'Other',      32,  50, NULL, NULL, NULL, NULL, NULL, 8),
  ('Configuration9',  'Pentium3', 4000, 'linux',      64, 100, NULL, NULL, NULL, NULL, NULL, 9),
  ('Configuration10', 'Pentium3', 2000, 'linux',      32,  50, NULL, NULL, NULL, NULL, NULL, 10),
  ('linux-busybox',   'Pentium3', 4000, 'linux',     256, 1000, 'linux-busybox', 128, 1000, NULL, NULL, 100);
