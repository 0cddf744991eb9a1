import type { PageDefinition } from '../lib/router';
import { alertsPage } from './alerts';
import { componentsPage } from './components';
import { configPage } from './config';
import { configKeyPage } from './config-key';
import { eventsPage } from './events';
import { overviewPage } from './overview';
import { servicePage } from './service';

/**
 * Every page of the dashboard. To add one, write pages/<name>.tsx exporting `definePage({...})`
 * and list it here; `nav` puts it in the header.
 */
export const pages: PageDefinition[] = [overviewPage, servicePage, configPage, configKeyPage, componentsPage, alertsPage, eventsPage];
